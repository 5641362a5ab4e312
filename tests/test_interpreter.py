"""The interpreter: the dialog state machine edge by edge (ivr/states.py, no board), then
flows on the emulated board in virtual time with callers pressing real DTMF tones."""
import os
import textwrap

import pytest

from ivr import loader, simulator, states
from ivr.states import CONFIRM, DONE, FIRST, NEXT, PROMPT, READBACK, Dialog, DialogError
from voiceboard import clock


# --- the state machine, one test per edge ---------------------------------------------------

def menu_classify(choices):
    def classify(digits, terminated):
        complete = digits in choices
        extendable = not terminated and any(c.startswith(digits) and c != digits for c in choices)
        return complete, extendable
    return classify


def dialog(choices=("1", "2"), **kw):
    d = Dialog(menu_classify(choices), **kw)
    d.start(0.0)
    return d


def test_start_to_prompt_plays_the_long_greeting():
    d = Dialog(menu_classify(("1",)))
    assert d.start(0.0) == [("play", ("greeting",), 0, True)] and d.state == PROMPT
    with pytest.raises(DialogError):
        d.start(0.0)


def test_prompt_to_first_on_prompt_end_keeps_type_ahead_with_barge_in():
    d = dialog(first_timeout=5.0)
    assert d.prompt_end(False, 10.0) == [("wait", 5.0, "first")] and d.state == FIRST


def test_prompt_to_first_on_prompt_end_flushes_after_a_prompt_without_barge_in():
    d = dialog(barge_in=False)
    assert d.prompt_end(False, 0.0)[0] == ("flush",)


def test_prompt_to_first_on_barge_in_keeps_the_digit():
    d = dialog(barge_in=True)
    assert d.prompt_end(True, 0.0) == [("wait", 5.0, "first")]


def test_first_to_done_on_a_digit_that_is_complete_and_cannot_grow():
    d = dialog()
    d.prompt_end(True, 0.0)
    assert d.digit("2", 1.0) == [("done", "match", "2")] and d.state == DONE


def test_first_to_next_on_a_digit_that_can_grow():
    d = dialog(choices=("1", "12"), inter_timeout=3.0)
    d.prompt_end(True, 0.0)
    assert d.digit("1", 1.0) == [("wait", 3.0, "inter")] and d.state == NEXT


def test_first_to_prompt_on_a_digit_that_matches_nothing():
    d = dialog()
    d.prompt_end(True, 0.0)
    assert d.digit("7", 1.0) == [("flush",), ("play", ("nomatch", "short_greeting"), 1, True)]
    assert d.state == PROMPT and d.nomatch == 1 and d.noinput == 0


def test_first_to_prompt_on_timeout_counts_a_noinput():
    d = dialog()
    d.prompt_end(False, 0.0)
    assert d.timeout(5.0) == [("play", ("noinput", "short_greeting"), 1, True)] and d.noinput == 1


def test_first_to_done_when_the_noinput_counter_reaches_its_maximum():
    d = dialog(max_noinput=2)
    for n in range(2):
        d.prompt_end(False, 0.0)
        out = d.timeout(5.0)
    assert out == [("done", "noinput_exhausted", "")] and d.branches == ["noinput", "noinput", "noinput_exhausted"]


def test_counters_are_separate():
    d = dialog(max_noinput=2, max_nomatch=2)
    d.prompt_end(False, 0.0)
    d.timeout(5.0)                                      # noinput 1
    d.prompt_end(False, 5.0)
    d.digit("9", 6.0)                                   # nomatch 1
    d.prompt_end(False, 7.0)
    out = d.digit("9", 8.0)                             # nomatch 2: exhausted, noinput still 1
    assert out[-1] == ("done", "nomatch_exhausted", "9") and d.noinput == 1


def test_first_to_prompt_on_the_repeat_key_without_counting():
    d = dialog(repeat_key="*")
    d.prompt_end(True, 0.0)
    assert d.digit("*", 1.0) == [("play", ("greeting",), 0, True)]
    assert d.noinput == d.nomatch == 0 and d.state == PROMPT


@pytest.mark.parametrize("key,outcome", [("0", "back"), ("9", "top")])
def test_first_to_done_on_back_and_top_keys(key, outcome):
    d = dialog(back_key="0", top_key="9")
    d.prompt_end(True, 0.0)
    assert d.digit(key, 1.0) == [("done", outcome, "")]


def test_first_to_done_on_a_terminator_when_an_empty_entry_is_complete():
    d = Dialog(lambda digits, t: (len(digits) >= 0, len(digits) < 4), terminators="#")
    d.start(0.0)
    d.prompt_end(True, 0.0)
    assert d.digit("#", 1.0) == [("done", "match", "")]


def test_first_to_prompt_on_a_terminator_when_digits_are_needed():
    d = dialog(terminators="#")
    d.prompt_end(True, 0.0)
    assert d.digit("#", 1.0)[1][0] == "play" and d.nomatch == 1


def test_next_to_next_on_another_digit():
    d = dialog(choices=("123",))
    d.prompt_end(True, 0.0)
    d.digit("1", 1.0)
    assert d.digit("2", 1.5) == [("wait", 3.0, "inter")] and d.digits == "12"


def test_next_to_done_on_timeout_takes_the_complete_prefix():
    d = dialog(choices=("1", "12"))
    d.prompt_end(True, 0.0)
    d.digit("1", 1.0)
    assert d.timeout(4.0) == [("done", "match", "1")]


def test_next_to_prompt_on_timeout_with_an_incomplete_entry():
    d = dialog(choices=("123",))
    d.prompt_end(True, 0.0)
    d.digit("1", 1.0)
    assert d.timeout(4.0)[1] == ("play", ("nomatch", "short_greeting"), 1, True)


def test_next_to_done_on_a_terminator_after_a_complete_entry():
    d = dialog(choices=("1", "12"), terminators="#")
    d.prompt_end(True, 0.0)
    d.digit("1", 1.0)
    assert d.digit("#", 1.2) == [("done", "match", "1")]


def test_next_to_prompt_on_a_terminator_after_an_incomplete_entry():
    d = dialog(choices=("123",), terminators="#")
    d.prompt_end(True, 0.0)
    d.digit("1", 1.0)
    assert d.digit("#", 1.2)[0] == ("flush",) and d.state == PROMPT


def test_the_overall_timer_shortens_a_wait_and_judges_the_digits_typed():
    d = dialog(choices=("1", "12"), first_timeout=5.0, inter_timeout=3.0, overall_timeout=4.0)
    assert d.prompt_end(True, 10.0) == [("wait", 4.0, "overall")]
    assert d.digit("1", 12.0) == [("wait", 2.0, "overall")]
    assert d.timeout(14.0) == [("done", "match", "1")]          # typed digits are kept


def test_nomatch_exhausted_flushes_and_ends():
    d = dialog(max_nomatch=1)
    d.prompt_end(True, 0.0)
    assert d.digit("7", 1.0) == [("flush",), ("done", "nomatch_exhausted", "7")]


def test_first_to_readback_then_confirm_then_done_on_the_confirm_key():
    d = dialog(confirm=True)
    d.prompt_end(True, 0.0)
    assert d.digit("1", 1.0) == [("play", ("readback",), 0, True)] and d.state == READBACK
    assert d.prompt_end(False, 3.0) == [("wait", 5.0, "first")] and d.state == CONFIRM
    assert d.digit("1", 4.0) == [("done", "match", "1")]


def test_confirm_to_prompt_on_another_key():
    d = dialog(confirm=True)
    d.prompt_end(True, 0.0)
    d.digit("2", 1.0)
    d.prompt_end(False, 2.0)
    assert d.digit("2", 3.0) == [("flush",), ("play", ("nomatch", "short_greeting"), 1, True)]


def test_confirm_to_prompt_on_silence():
    d = dialog(confirm=True)
    d.prompt_end(True, 0.0)
    d.digit("2", 1.0)
    d.prompt_end(False, 2.0)
    assert d.timeout(7.0) == [("play", ("noinput", "short_greeting"), 1, True)]


@pytest.mark.parametrize("state", [PROMPT, FIRST, NEXT, CONFIRM])
def test_any_to_done_on_hangup(state):
    d = dialog(choices=("12",), confirm=True)
    if state in (FIRST, NEXT, CONFIRM):
        d.prompt_end(True, 0.0)
    if state == NEXT:
        d.digit("1", 1.0)
    if state == CONFIRM:
        d.digit("1", 1.0)
        d.digit("2", 1.5)
        d.prompt_end(False, 2.0)
    assert d.state == state
    assert d.hangup() == [("done", "hangup", d.digits)] and d.hangup() == []


def test_an_event_without_an_edge_is_an_error():
    d = dialog()
    with pytest.raises(DialogError, match="digit in PROMPT"):
        d.digit("1", 0.0)
    with pytest.raises(DialogError, match="timeout in PROMPT"):
        d.timeout(0.0)


def test_states_module_imports_nothing():
    import ast
    tree = ast.parse(open(states.__file__, encoding="utf-8").read())
    assert not [n for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom))]


# --- flows on the emulated board ---------------------------------------------------------------

PROMPTS = """\
prompts:
  hello: {zh: 您好}
  menu: {zh: 余额请按1，转账请按2}
  short: {zh: 请按1或2}
  again: {zh: 没听到}
  again2: {zh: 还是没听到}
  wrong: {zh: 输入有误}
  ask: {zh: 请输入}
  wait: {zh: 请稍候}
  bye: {zh: 再见}
  oops: {zh: 系统错误}
  late: {zh: 时间到}
  you_entered: {zh: 您输入的是}
"""


def digit_sayer(value, say_as, lang):
    """Digit-by-digit prompt ids (the say layer proper lives in ivr/say.py)."""
    return [f"{lang}_digit_{c}" for c in str(value) if c.isdigit()]


def run(tmp_path, flow_text, steps, settings=None, **scenario):
    path = tmp_path / "flow.yaml"
    path.write_text(textwrap.dedent(PROMPTS) + textwrap.dedent(flow_text), encoding="utf-8")
    flow = loader.load(path)
    sc = dict(name="t", steps=steps, **scenario)
    result = clock.run(simulator.run_scenario(flow, sc, settings or {}, sayer=digit_sayer,
                                              recordings_dir=str(tmp_path / "rec")))
    assert result.ok, result.report()
    return result


def times(result, kind):
    return [t for t, who, what, _ in result.timeline if who == "flow" and what == kind]


MENU = """\
handlers: {error: oops}
nodes:
  main:
    type: menu
    greeting: menu
    short_greeting: short
    choices: {"1": one, "2": two}
    noinput: [again, again2]
    nomatch: [wrong]
    on_noinput_exhausted: bye
    on_nomatch_exhausted: bye
    var: key
  one: {type: hangup, prompt: bye}
  two: {type: hangup}
  bye: {type: hangup, prompt: bye}
  oops: {type: hangup, prompt: oops}
"""


def test_menu_choice_by_barge_in(tmp_path):
    r = run(tmp_path, MENU, [{"until": "menu"}, {"wait": 0.5}, {"press": "1"}])
    rec = r.record
    assert rec["prompts"] == ["menu", "bye"] and rec["path"] == ["main", "one"]
    assert rec["keys"] == [{"node": "main", "keys": "1"}] and rec["vars"]["key"] == "1"
    assert ("", "main", "choice 1") in rec["branches"] and rec["outcome"] == "hangup"
    # the key stopped the prompt: it went down 0.5 s in; the bye prompt starts within 0.1 s
    assert times(r, "barge_in")[0] - times(r, "play")[0] < 0.6


def test_noinput_prompts_by_count_then_exhausted(tmp_path):
    r = run(tmp_path, MENU, [])
    assert r.record["prompts"] == ["menu", "again", "short", "again2", "short", "bye"]
    assert r.record["path"] == ["main", "bye"]
    # each silence is timed from the end of its prompt: 5 s (the default first-digit timeout)
    ends = times(r, "timeout")
    assert len(ends) == 3


def test_nomatch_then_match(tmp_path):
    r = run(tmp_path, MENU, [{"until": "menu"}, {"press": "9"}, {"until": "short"}, {"press": "2"}])
    assert r.record["prompts"][:3] == ["menu", "wrong", "short"]
    assert r.record["path"] == ["main", "two"] and ("", "main", "nomatch") in r.record["branches"]


def test_keys_pressed_during_a_prompt_without_barge_in_are_dropped(tmp_path):
    flow = MENU.replace("nodes:\n", "nodes:\n  hi: {type: play, prompts: hello, barge_in: false, next: main}\n")
    flow += "start: hi\n"
    r = run(tmp_path, flow, [{"until": "hello"}, {"wait": 0.1}, {"press": "1"}, {"until": "again"}, {"hangup": None}])
    assert r.record["prompts"][:3] == ["hello", "menu", "again"] and r.record["keys"] == []
    assert ("flush", "*") in [(what, d) for _, who, what, d in r.timeline if who == "flow"]


def test_type_ahead_carries_into_the_next_menu_and_skips_its_prompt(tmp_path):
    flow = MENU.replace('choices: {"1": one, "2": two}', 'choices: {"1": lookup, "2": two}') + """\
  lookup: {type: action, call: slow, next: second}
  second:
    type: menu
    greeting: ask
    choices: {"2": two}
    on_noinput_exhausted: bye
    on_nomatch_exhausted: bye
"""
    r = run(tmp_path, flow, [{"until": "menu"}, {"press": "12"}], settings={"actions": {"slow": {"delay": 1.0}}})
    assert r.record["path"] == ["main", "lookup", "second", "two"]
    assert "ask" not in r.record["prompts"]                     # answered before it could play
    assert any(what == "skip" for _, who, what, _ in r.timeline)


def test_an_ambiguous_prefix_waits_the_inter_digit_timeout(tmp_path):
    flow = MENU.replace('{"1": one, "2": two}', '{"1": one, "12": two, "2": two}')
    r = run(tmp_path, flow, [{"until": "menu"}, {"press": "1"}])
    assert r.record["path"] == ["main", "one"]
    digit_at = times(r, "digit")[0]
    chosen_at = [t for t, who, what, d in r.timeline if what == "node" and d == "one"][0]
    assert 2.9 < chosen_at - digit_at < 3.1                    # inter_digit_timeout 3 s


COLLECT = """\
handlers: {error: oops}
nodes:
  get:
    type: collect
    prompt: ask
    var: account
    min_digits: 4
    max_digits: 8
    terminators: "#"
    nomatch: [wrong]
    max_nomatch: 2
    on_noinput_exhausted: bye
    on_nomatch_exhausted: bye
    next: done
  done: {type: hangup}
  bye: {type: hangup, prompt: bye}
  oops: {type: hangup, prompt: oops}
"""


@pytest.mark.parametrize("keys,path,account", [
    ("123456#", ["get", "done"], "123456"),          # terminator
    ("12345678", ["get", "done"], "12345678"),       # max digits, no terminator needed
    ("12#", ["get", "bye"], None),                   # too short, twice -> exhausted
])
def test_collect_terminator_and_max_digits(tmp_path, keys, path, account):
    steps = [{"until": "ask"}, {"press": keys}]
    if account is None:
        steps += [{"until": "wrong"}, {"press": keys}]
    r = run(tmp_path, COLLECT, steps)
    assert r.record["path"] == path and r.record["vars"].get("account") == account


def test_collect_inter_digit_timeout_accepts_a_complete_entry(tmp_path):
    r = run(tmp_path, COLLECT, [{"until": "ask"}, {"press": "12345"}])
    assert r.record["vars"]["account"] == "12345"
    assert 2.9 < times(r, "timeout")[0] - times(r, "digit")[-1] < 3.1


def test_collect_terminator_required(tmp_path):
    flow = COLLECT.replace("    terminators: \"#\"\n", "    terminators: \"#\"\n    terminator_required: true\n")
    r = run(tmp_path, flow, [{"until": "ask"}, {"press": "12345678"}, {"until": "wrong"}, {"press": "1234#"}])
    assert r.record["prompts"][:3] == ["ask", "wrong", "ask"] and r.record["vars"]["account"] == "1234"


def test_collect_validator_and_masking(tmp_path):
    flow = COLLECT.replace("    var: account\n", "    var: card\n    validator: luhn\n    mask: true\n") \
        .replace("min_digits: 4", "min_digits: 16").replace("max_digits: 8", "max_digits: 16")
    r = run(tmp_path, flow, [{"until": "ask"}, {"press": "4111111111111112"}, {"until": "wrong"},
                             {"press": "4111111111111111"}])
    rec = r.record
    assert rec["path"] == ["get", "done"] and rec["vars"]["card"] == "*" * 16
    assert rec["keys"] == [{"node": "get", "keys": "*" * 16}]
    assert "4111" not in repr(rec)


def test_collect_confirm_reads_back_and_takes_the_confirm_key(tmp_path):
    flow = COLLECT.replace("    next: done", "    confirm: true\n    readback: [you_entered, {say: entry, as: digits}]\n"
                                             "    next: done")
    r = run(tmp_path, flow, [{"until": "ask"}, {"press": "2468#"}, {"until": "you_entered"}, {"press": "2"},
                             {"until": "wrong"}, {"press": "1357#"}, {"until": "zh_digit_7"}, {"press": "1"}])
    assert r.record["vars"]["account"] == "1357"
    assert r.record["prompts"][:6] == ["ask", "you_entered", "zh_digit_2", "zh_digit_4", "zh_digit_6", "zh_digit_8"]


def test_collect_overall_timeout_judges_what_was_typed(tmp_path):
    flow = COLLECT.replace("    terminators: \"#\"\n", "    terminators: \"#\"\n    overall_timeout: 4\n"
                                                        "    timeout: 4\n    inter_digit_timeout: 3\n")
    r = run(tmp_path, flow, [{"until": "ask"}, {"wait": 1.0}, {"press": "12"}, {"wait": 1.5}, {"press": "34"}])
    assert r.record["vars"]["account"] == "1234"
    assert [d for _, _, what, d in r.timeline if what == "timeout"] == ["overall"]


ACTION = """\
handlers: {error: oops}
nodes:
  act:
    type: action
    call: svc
    args: {n: 41}
    timeout: 5
    wait_prompt: wait
    wait_after: 1
    result: res
    on: {busy: bye}
    next: tell
  tell: {type: say, value: res.value, as: number, next: done}
  done: {type: hangup}
  bye: {type: hangup, prompt: bye}
  oops: {type: hangup, prompt: oops}
"""


def test_action_result_and_say(tmp_path):
    r = run(tmp_path, ACTION, [], settings={"actions": {"svc": {"result": {"outcome": "ok", "value": 1234}}}})
    assert r.record["prompts"] == ["zh_digit_1", "zh_digit_2", "zh_digit_3", "zh_digit_4"]
    assert r.record["actions"][0]["name"] == "svc" and r.record["actions"][0]["args"] == {"n": 41}


def test_a_slow_action_plays_the_wait_prompt(tmp_path):
    r = run(tmp_path, ACTION, [], settings={"actions": {"svc": {"result": {"outcome": "ok", "value": 7}, "delay": 3}}})
    assert r.record["prompts"] == ["wait", "zh_digit_7"] and r.record["actions"][0]["seconds"] == pytest.approx(3, abs=0.05)


def test_action_outcome_routes(tmp_path):
    r = run(tmp_path, ACTION, [], settings={"actions": {"svc": {"result": "busy"}}})
    assert r.record["path"] == ["act", "bye"]


@pytest.mark.parametrize("fixture,message", [
    ({"error": "backend down"}, "RuntimeError: backend down"),
    ({"result": 1, "delay": 9}, "took longer than 5 s"),
    ({"result": {"outcome": "ok"}}, "no item 'value'"),           # expression error in the say node
])
def test_failures_go_to_the_error_handler(tmp_path, fixture, message):
    r = run(tmp_path, ACTION, [], settings={"actions": {"svc": fixture}})
    assert r.record["path"][-1] == "oops" and message in r.record["error"]
    assert r.record["outcome"] == "error" and r.record["prompts"][-1] == "oops"


def test_without_an_error_handler_the_call_ends(tmp_path):
    r = run(tmp_path, ACTION.replace("handlers: {error: oops}\n", ""), [],
            settings={"actions": {"svc": {"error": "x"}}})
    assert r.record["outcome"] == "error" and r.record["path"] == ["act"]


def test_a_python_action_gets_the_context_and_arguments(tmp_path):
    seen = {}

    def svc(ctx, n):
        seen.update(flow=ctx.flow, node=ctx.node, lang=ctx.lang, n=n)
        return {"outcome": "ok", "value": n + 1}

    path = tmp_path / "flow.yaml"
    path.write_text(textwrap.dedent(PROMPTS) + ACTION, encoding="utf-8")
    flow = loader.load(path, actions={"svc": svc})
    r = clock.run(simulator.run_scenario(flow, {"name": "py", "steps": []}, {}, sayer=digit_sayer,
                                         actions={"svc": svc}))
    assert seen == {"flow": "flow", "node": "act", "lang": "zh", "n": 41}
    assert r.record["prompts"] == ["zh_digit_4", "zh_digit_2"]


def test_the_step_limit_stops_a_runaway_loop(tmp_path):
    flow = """\
max_steps: 40
handlers: {error: oops}
vars: {n: 0}
nodes:
  count: {type: set, vars: {n: n + 1}, next: check}
  check: {type: if, cond: n < 1000000, then: count, else: done}
  done: {type: hangup}
  oops: {type: hangup, prompt: oops}
"""
    r = run(tmp_path, flow, [])
    assert r.record["outcome"] == "step_limit" and r.record["path"][-1] == "oops"
    assert len(r.record["path"]) == 41


def test_subflow_parameters_return_values_and_outcome(tmp_path):
    flow = """\
nodes:
  call: {type: subflow, flow: double, params: {x: 21}, returns: {y: result}, on: {big: big}, next: small}
  big: {type: say, value: y, as: number, next: done}
  small: {type: hangup}
  done: {type: hangup}
subflows:
  double:
    params: [x]
    returns: [result]
    nodes:
      calc: {type: set, vars: {r: x * 2}, next: judge}
      judge: {type: if, cond: r > 10, then: large, else: little}
      large: {type: return, values: {result: r}, outcome: big}
      little: {type: return, values: {result: r}}
"""
    r = run(tmp_path, flow, [])
    assert r.record["path"] == ["call", "double/calc", "double/judge", "double/large", "big", "done"]
    assert r.record["prompts"] == ["zh_digit_4", "zh_digit_2"] and r.record["vars"]["y"] == 42
    assert "r" not in r.record["vars"]                            # the subflow's own variables stay there


TRANSFER = """\
nodes:
  xfer:
    type: transfer
    number: "'8001'"
    timeout: 12
    on: {busy: bye, no_answer: bye, failed: bye}
    next: done
  done: {type: hangup}
  bye: {type: hangup, prompt: bye}
"""


@pytest.mark.parametrize("destination,outcome,path", [
    ({"outcome": "answer", "answer_after": 2, "talk": 2}, "answered", ["xfer"]),
    ({"outcome": "busy"}, "busy", ["xfer", "bye"]),
    ({"outcome": "no_answer"}, "no_answer", ["xfer", "bye"]),
    ({"outcome": "vacant"}, "failed", ["xfer", "bye"]),
])
def test_transfer_outcomes_on_the_emulated_exchange(tmp_path, destination, outcome, path):
    steps = [{"wait": 12}, {"hangup": None}] if outcome == "answered" else []
    r = run(tmp_path, TRANSFER, steps, settings={"directory": {"8001": destination}})
    t = r.record["transfers"][0]
    assert t["to"] == "8001" and t["outcome"] == outcome and r.record["path"] == path
    if outcome == "answered":
        assert r.record["outcome"] == "caller_hangup" and t["seconds"] > 2


def test_record_with_beep_until_the_terminator(tmp_path):
    flow = """\
nodes:
  rec: {type: record, prompt: ask, var: msg, status_var: st, max_time: 20, max_silence: 3, next: done}
  done: {type: hangup}
"""
    r = run(tmp_path, flow, [{"until": "ask"}, {"wait": 2}, {"speak": 2}, {"press": "#"}])
    rec = r.record["recordings"][0]
    assert rec["status"] == "DTMF" and 2.0 < rec["seconds"] < 3.5 and os.path.getsize(rec["path"]) > 16000
    assert r.record["vars"]["st"] == "DTMF" and r.record["vars"]["msg"] == rec["path"]


def test_max_call_duration_runs_its_handler(tmp_path):
    flow = MENU.replace("handlers: {error: oops}", "handlers: {error: oops, max_duration: late}\nmax_call_seconds: 8") + \
        "  late: {type: hangup, prompt: late}\n"
    r = run(tmp_path, flow, [])
    assert r.record["outcome"] == "max_duration" and r.record["prompts"][-1] == "late"
    assert 8.0 <= times(r, "max_duration")[0] < 8.1


def test_the_hangup_handler_runs_only_non_media_nodes(tmp_path):
    flow = MENU.replace("handlers: {error: oops}", "handlers: {error: oops, hangup: note}") + """\
  note: {type: action, call: audit, args: {where: "key"}, next: tell}
  tell: {type: play, prompts: bye, next: done2}
  done2: {type: hangup}
"""
    r2 = run(tmp_path, flow.replace('"2": two', '"2": main2').replace("  two: {type: hangup}\n", "")
             + "  main2: {type: play, prompts: ask, next: main}\n",
             [{"until": "menu"}, {"press": "2"}, {"until": "ask"}, {"hangup": None}],
             settings={"actions": {"audit": {"result": "ok"}}})
    assert r2.record["outcome"] == "caller_hangup"
    assert [a["name"] for a in r2.record["actions"]] == ["audit"] and r2.record["actions"][0]["args"] == {"where": "2"}
    assert r2.record["path"][-2:] == ["main2", "note"] and "bye" not in r2.record["prompts"]


def test_language_switch_reaches_the_prompt_store(tmp_path):
    flow = """\
languages: [zh, en]
nodes:
  en: {type: set, vars: {lang: "'en'"}, next: say}
  say: {type: say, value: 5, as: number, next: done}
  done: {type: hangup}
"""
    r = run(tmp_path, flow, [])
    assert r.record["prompts"] == ["en_digit_5"]


def test_a_call_keeps_the_flow_version_it_started_on(tmp_path):
    """A reload during a call (here: an action rewrites and reloads the file) gives a new
    flow object; the running call goes on with the old one."""
    path = tmp_path / "flow.yaml"
    text = textwrap.dedent(PROMPTS) + """\
version: one
nodes:
  act: {type: action, call: reload, next: tell}
  tell: {type: play, prompts: hello, next: done}
  done: {type: hangup}
"""
    path.write_text(text, encoding="utf-8")
    flow = loader.load(path)
    reloaded = []

    def reload(ctx):
        path.write_text(text.replace("version: one", "version: two").replace("prompts: hello", "prompts: bye"),
                        encoding="utf-8")
        reloaded.append(loader.load(path))
        return "ok"

    r = clock.run(simulator.run_scenario(flow, {"name": "v", "steps": []}, {}, actions={"reload": reload}))
    assert reloaded[0].version == "two" and reloaded[0].nodes["tell"]["prompts"][0].value == "bye"
    assert r.record["version"] == "one" and r.record["prompts"] == ["hello"]


# --- any sequence of events keeps the rules ---------------------------------------------------

from hypothesis import given, settings, strategies as st  # noqa: E402


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["digit", "timeout", "hangup"]), st.sampled_from("0123456789*#")),
                max_size=40),
       st.booleans(), st.booleans())
def test_any_event_sequence_keeps_the_counters_and_ends_correctly(events, barge_in, confirm):
    choices = ("1", "12", "345")
    d = Dialog(menu_classify(choices), terminators="#", max_noinput=3, max_nomatch=2, barge_in=barge_in,
               repeat_key="*", confirm=confirm)
    out = d.start(0.0)
    now = 0.0
    for kind, key in events:
        if d.state == DONE:
            break
        now += 1.0
        if d.state in (PROMPT, READBACK):
            out = d.prompt_end(kind == "digit", now)
        elif kind == "digit":
            out = d.digit(key, now)
        elif kind == "timeout":
            out = d.timeout(now)
        else:
            out = d.hangup(now)
        assert d.noinput <= 3 and d.nomatch <= 2
        assert all(c[0] in ("play", "flush", "wait", "done") for c in out)
        assert [c[0] for c in out].count("done") == (1 if d.state == DONE else 0)
    if d.state == DONE and d.outcome == "match":
        assert d.digits in choices
    if d.outcome == "noinput_exhausted":
        assert d.noinput == 3
    if d.outcome == "nomatch_exhausted":
        assert d.nomatch == 2


def test_a_failing_say_layer_or_initial_variable_goes_to_the_error_handler(tmp_path):
    flow = """\
handlers: {error: oops}
vars: {base: 10}
nodes:
  tell: {type: say, value: "'abc'", as: number, next: done}
  done: {type: hangup}
  oops: {type: hangup, prompt: oops}
"""
    path = tmp_path / "flow.yaml"
    path.write_text(textwrap.dedent(PROMPTS) + flow, encoding="utf-8")
    loaded = loader.load(path)

    def strict_sayer(value, say_as, lang):
        if not isinstance(value, int):
            raise ValueError(f"{say_as} needs a whole number")
        return digit_sayer(value, say_as, lang)

    r = clock.run(simulator.run_scenario(loaded, {"name": "s", "steps": []}, sayer=strict_sayer))
    assert r.record["path"] == ["tell", "oops"] and "say number 'abc': number needs a whole number" in r.record["error"]
    path.write_text(textwrap.dedent(PROMPTS) + flow.replace("base: 10", "base: 1 // 0"), encoding="utf-8")
    r = clock.run(simulator.run_scenario(loader.load(path), {"name": "v", "steps": []}, sayer=strict_sayer))
    assert r.record["path"] == ["oops"] and "division by zero" in r.record["error"]


def test_transfer_to_agent_positions_rings_an_fxs_phone_and_bridges(tmp_path):
    """A queue of "ports:1" rings the agent phone on FXS port 1 with the caller's ID and
    bridges the call; the agent hears the caller and hangs up; the call is transferred."""
    import asyncio

    import numpy as np

    import drivers
    from ivr import loader, simulator
    from ivr.interpreter import Interpreter
    from voiceboard import callerid, clock

    flow_file = tmp_path / "agent.yaml"
    flow_file.write_text("flow: agent\nlang: en\nlanguages: [en]\nprompts:\n  hold: \"Please hold.\"\n"
                         "nodes:\n  agent:\n    type: transfer\n    queue: agents\n    prompt: [hold]\n"
                         "    next: done\n  done:\n    type: hangup\n")
    flow = loader.load(str(flow_file))

    async def main():
        async with drivers.open_board("emu://analog?ports=2&fxs=1") as board:
            ch, port, phone = board.channel(0), board.exchange.ports[0], board.exchange.ports[1]
            calling = asyncio.ensure_future(port.call(callerid.CallerId(number="13900001111", date="11252300")))
            while ch.ring_count < 2:
                await ch.events.get()
            await ch.answer()
            await calling

            async def agent():
                await phone.wait_ring(timeout=30)
                await phone.wait_ring(timeout=30)
                await phone.answer()
                hearing = asyncio.ensure_future(phone.listen(1.0))
                t = np.arange(4000) / 8000
                await port.send(np.round(5000 * np.sin(2 * np.pi * 700 * t)).astype(np.int16))
                heard = await hearing
                await phone.hangup()
                return phone.caller_id.number, heard

            agent_task = asyncio.ensure_future(agent())
            record = await Interpreter(flow, simulator.TonePrompts(flow).load, queues={"agents": "ports:1"}).run(ch)
            number, heard = await agent_task
            spectrum = np.abs(np.fft.rfft(heard.astype(float)))
            return record, number, np.argmax(spectrum) * 8000 / heard.size

    record, number, peak = clock.run(main())
    assert record["transfers"][0]["outcome"] == "answered" and record["outcome"] == "transferred"
    assert number == "13900001111" and abs(peak - 700) < 10
