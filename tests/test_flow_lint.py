"""The flow linter: each check, with its place; the ivr lint command and its exit status."""
import argparse
import io
import os
import textwrap

import pytest

from ivr import cli_lint, lint
from voiceboard.board import Capabilities

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SAMPLE = os.path.join(ROOT, "flows", "sample.yaml")

MENU = """\
prompts:
  menu: {zh: "查询请按1，转账请按2", en: "For balance press 1, for transfers press 2"}
  bye: {zh: 再见, en: Bye}
languages: [zh, en]
nodes:
  menu:
    type: menu
    greeting: menu
    choices: {"1": bye, "2": bye}
    on_noinput_exhausted: bye
    on_nomatch_exhausted: bye
  bye:
    type: hangup
    prompt: bye
"""


def lint_text(tmp_path, text, **kw):
    path = tmp_path / "f.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    _, problems = lint.lint_file(path, **kw)
    return problems


def find(problems, code):
    found = [p for p in problems if p.code == code]
    assert found, f"no {code} in {[str(p) for p in problems]}"
    return found


def test_the_sample_and_the_examples_are_clean():
    paths = [SAMPLE] + [os.path.join(ROOT, "flows", "examples", f) for f in
                        sorted(os.listdir(os.path.join(ROOT, "flows", "examples"))) if not f.endswith("_test.yaml")]
    for path in paths:
        _, problems = lint.lint_file(path, capabilities=Capabilities(channels=8))
        assert [str(p) for p in problems] == [], path


def test_a_clean_menu(tmp_path):
    assert lint_text(tmp_path, MENU) == []


def test_dangling_target(tmp_path):
    p, = find(lint_text(tmp_path, MENU.replace('"2": bye', '"2": Bye')), "dangling")
    assert (p.line, p.severity) == (9, "error") and "did you mean 'bye'" in p.hint


def test_dangling_start_handler_and_subflow(tmp_path):
    text = MENU + "start: nope\nhandlers: {error: gone}\n"
    text = text.replace("  bye:\n", "  call:\n    type: subflow\n    flow: missing\n    next: bye\n  bye:\n")
    messages = [p.message for p in find(lint_text(tmp_path, text), "dangling")]
    assert any("start node 'nope'" in m for m in messages)
    assert any("handler error" in m for m in messages)
    assert any("subflow 'missing'" in m for m in messages)


def test_unreachable_node_is_a_warning(tmp_path):
    text = MENU + "  lost:\n    type: hangup\n"
    p, = find(lint_text(tmp_path, text), "unreachable")
    assert p.severity == "warning" and p.line == 15 and "'lost'" in p.message


def test_missing_prompt_text_in_a_language(tmp_path):
    text = MENU.replace("  bye: {zh: 再见, en: Bye}", "  bye: {zh: 再见}")
    p, = find(lint_text(tmp_path, text), "missing-prompt")
    assert p.line == 14 and "no en text" in p.message


def test_a_recording_in_the_prompt_dir_counts(tmp_path):
    text = MENU.replace("  bye: {zh: 再见, en: Bye}\n", "") + "prompt_dir: rec\n"
    for lang in ("zh", "en"):
        os.makedirs(tmp_path / "rec" / lang)
        (tmp_path / "rec" / lang / "bye.wav").write_bytes(b"")
    assert lint_text(tmp_path, text) == []


def test_missing_file_prompt(tmp_path):
    text = MENU.replace("prompt: bye", "prompt: 'file:nothere.wav'")
    p, = find(lint_text(tmp_path, text), "missing-prompt")
    assert "nothere.wav" in p.message


@pytest.mark.parametrize("old,new,key", [
    ("for transfers press 2", "for transfers press 2, for an agent press 0", "0"),
    ("转账请按2", "转账请按2，人工服务请按星号键", "*"),
    ("for transfers press 2", "press 2 or 3", "3"),
])
def test_keys_the_prompt_promises_must_be_handled(tmp_path, old, new, key):
    p, = find(lint_text(tmp_path, MENU.replace(old, new)), "unhandled-key")
    assert f"press {key}" in p.message and p.line == 8


def test_promised_keys_parser():
    assert lint.promised_keys("For balance press 1, transfers press 2 or 3, operator dial star") == {"1", "2", "3", "*"}
    assert lint.promised_keys("查询余额请按1，返回请按井号键，或按2、3") == {"1", "#", "2", "3"}


def test_ambiguous_prefix_warns_about_the_wait(tmp_path):
    p, = find(lint_text(tmp_path, MENU.replace('"2": bye', '"2": bye, "12": bye')), "ambiguous-prefix")
    assert p.severity == "warning" and "waits 3 s" in p.message


@pytest.mark.parametrize("extra,message", [
    ("    overall_timeout: 2\n    timeout: 5\n", "timeout (5 s) is longer than overall_timeout"),
    ("    overall_timeout: 4\n    inter_digit_timeout: 6\n", "inter_digit_timeout (6 s)"),
    ("    timeout: 0\n", "first-digit timeout of 0 s"),
])
def test_contradictory_timers(tmp_path, extra, message):
    text = MENU.replace("    on_noinput_exhausted: bye\n", "    on_noinput_exhausted: bye\n" + extra)
    assert any(message in p.message for p in find(lint_text(tmp_path, text), "timers"))


COLLECT = """\
prompts: {{ask: "请输入", bye: "再见"}}
nodes:
  ask:
    type: collect
    prompt: ask
    var: {var}
    min_digits: {lo}
    max_digits: 6
    on_noinput_exhausted: bye
    on_nomatch_exhausted: bye
    next: bye
  bye: {{type: hangup, prompt: bye}}
"""


def test_min_digits_above_max(tmp_path):
    p, = find(lint_text(tmp_path, COLLECT.format(var="account", lo=8)), "timers")
    assert "min_digits 8 > max_digits 6" in p.message and p.line == 7


@pytest.mark.parametrize("var", ["pin", "card_no", "Password", "cvv2"])
def test_sensitive_input_must_be_masked(tmp_path, var):
    p, = find(lint_text(tmp_path, COLLECT.format(var=var, lo=4)), "unmasked")
    assert p.severity == "error" and p.line == 6
    assert lint_text(tmp_path, COLLECT.format(var=var, lo=4).replace("    next: bye", "    mask: true\n    next: bye")) == []


def test_reading_a_masked_value_aloud_warns(tmp_path):
    text = COLLECT.format(var="pin", lo=4).replace("    next: bye", "    mask: true\n    next: tell")
    text += "  tell: {type: say, value: pin, as: digits, next: bye}\n"
    p, = find(lint_text(tmp_path, text), "unmasked")
    assert p.severity == "warning" and "'pin' aloud" in p.message


def test_menu_without_exhaust_targets(tmp_path):
    text = MENU.replace("    on_nomatch_exhausted: bye\n", "")
    p, = find(lint_text(tmp_path, text), "missing")
    assert "on_nomatch_exhausted" in p.message


def test_loop_without_exit_counter(tmp_path):
    text = MENU.replace("on_noinput_exhausted: bye", "on_noinput_exhausted: again") + \
        "  again:\n    type: play\n    prompts: bye\n    next: menu\n"
    p, = find(lint_text(tmp_path, text), "loop")
    assert "again -> menu" in p.message or "menu -> again" in p.message


def test_loop_with_a_counter_is_fine(tmp_path):
    text = MENU.replace("on_noinput_exhausted: bye", "on_noinput_exhausted: count") + """\
  count:
    type: set
    vars: {rounds: "rounds + 1"}
    next: check
  check:
    type: if
    cond: rounds < 3
    then: menu
    else: bye
vars: {rounds: 0}
"""
    assert lint_text(tmp_path, text) == []


def test_barge_in_on_a_half_duplex_backend(tmp_path):
    modem = Capabilities(channels=1, full_duplex=False, call_progress=False, bridging=False, signalling="modem")
    p, = find(lint_text(tmp_path, MENU, capabilities=modem), "backend")
    assert p.line == 6 and "half duplex" in p.message and "barge_in: false" in p.hint
    assert lint_text(tmp_path, MENU + "defaults: {barge_in: false}\n", capabilities=modem) == []


def test_transfer_on_a_backend_without_bridging(tmp_path):
    text = MENU.replace('"2": bye', '"2": agent') + "  agent: {type: transfer, number: \"'8001'\", next: bye}\n"
    modem = Capabilities(channels=1, full_duplex=True, call_progress=True, bridging=False, signalling="modem")
    p, = find(lint_text(tmp_path, text, capabilities=modem), "backend")
    assert "bridging" in p.message


def test_actions_are_checked_against_the_registry(tmp_path):
    def balance(ctx, account, currency="CNY"):
        return {"outcome": "ok"}

    text = MENU.replace('"2": bye', '"2": act') + \
        "  act: {type: action, call: bank.balance, args: {acount: 1}, next: bye}\n"
    problems = find(lint_text(tmp_path, text, actions={"bank.balance": balance}), "action")
    assert {p.message for p in problems} == {"action 'bank.balance' takes no argument 'acount'",
                                             "action 'bank.balance' needs argument 'account'"}
    p, = find(lint_text(tmp_path, text, actions={}), "action")
    assert "not registered" in p.message


def test_subflow_parameters_and_returns(tmp_path):
    text = MENU.replace('"2": bye', '"2": sub') + """\
  sub: {type: subflow, flow: s, params: {x: 1}, returns: {r: nothing}, next: bye}
subflows:
  s:
    params: [y]
    returns: [ok]
    nodes:
      done: {type: return, values: {ok: true}}
"""
    messages = {p.message for p in find(lint_text(tmp_path, text), "subflow")}
    assert messages == {"subflow 's' has no parameter 'x'", "subflow 's' returns no 'nothing'"}


def test_undefined_variable_warns(tmp_path):
    text = MENU.replace('"2": bye', '"2": check') + "  check: {type: if, cond: balanse > 0, then: bye, else: bye}\n"
    p, = find(lint_text(tmp_path, text), "undefined")
    assert p.severity == "warning" and "'balanse'" in p.message


def _lint_cli(argv):
    parser = argparse.ArgumentParser(prog="ivr")
    cli_lint.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["lint"] + argv)
    out = io.StringIO()
    return args.func(args, out=out), out.getvalue()


def test_cli_exit_status_and_output(tmp_path):
    good = tmp_path / "good.yaml"
    good.write_text(MENU, encoding="utf-8")
    bad = tmp_path / "bad.yaml"
    bad.write_text(MENU.replace('"2": bye', '"2": nowhere') + "  lost: {type: hangup}\n", encoding="utf-8")
    status, out = _lint_cli([str(good)])
    assert status == 0 and out.strip() == "1 flow(s): 0 error(s), 0 warning(s)"
    status, out = _lint_cli([str(good), str(bad)])
    assert status == 1
    assert f"{bad}:9:30: error: node 'menu': choice 2 goes to 'nowhere'" in out
    assert "2 flow(s): 1 error(s), 1 warning(s)" in out
    status, out = _lint_cli([str(bad), "-q"])
    assert "unreachable" not in out


def test_cli_warnings_only_exit_zero(tmp_path):
    path = tmp_path / "w.yaml"
    path.write_text(MENU + "  lost: {type: hangup}\n", encoding="utf-8")
    status, out = _lint_cli([str(path)])
    assert status == 0 and "warning: node 'lost' cannot be reached" in out


def test_cli_backend_url(tmp_path):
    path = tmp_path / "m.yaml"
    path.write_text(MENU, encoding="utf-8")
    status, _ = _lint_cli([str(path), "--backend", "emu://analog?ports=2"])
    assert status == 0


def test_the_flows_in_the_documentation_are_clean(tmp_path):
    text = open(os.path.join(ROOT, "docs", "flows.md"), encoding="utf-8").read()
    blocks = [b.split("```")[0] for b in text.split("```yaml\n")[1:]]
    flows = [b for b in blocks if b.startswith("# flow\n")]
    assert len(flows) >= 6
    for i, block in enumerate(flows):
        path = tmp_path / f"doc{i}.yaml"
        path.write_text(block, encoding="utf-8")
        _, problems = lint.lint_file(path)
        assert [str(p) for p in problems] == [], block
