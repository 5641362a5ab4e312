"""Flow loader: YAML -> immutable model, with file:line:column on every schema problem."""
import dataclasses
import os
import textwrap

import pytest

from ivr import loader, schema
from voiceboard.errors import FlowError

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SAMPLE = os.path.join(ROOT, "flows", "sample.yaml")

MINIMAL = """\
prompts:
  hello: {zh: 你好, en: Hello}
nodes:
  start:
    type: play
    prompts: [hello]
    next: bye
  bye:
    type: hangup
"""


def parse(tmp_path, text, name="f.yaml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return loader.parse(path)


def codes(problems):
    return [(p.code, p.line) for p in problems]


def test_the_sample_flow_loads_with_defaults_resolved():
    flow = loader.load(SAMPLE)
    assert flow.name == "bank_main" and flow.version == "2026.11-1" and flow.start == "welcome"
    assert flow.languages == ("zh", "en")
    main, card = flow.nodes["main"], flow.nodes["card"]
    assert main["timeout"] == 5.0 and main["inter_digit_timeout"] == 3.0      # flow defaults
    assert card["timeout"] == 8.0 and card["overall_timeout"] == 60.0         # node overrides
    assert [c.key for c in main["choices"]] == ["1", "2", "0", "9"]
    assert flow.subflows["check_pin"].params == ("card",)
    assert flow.nodes["card"]["readback"][1].kind == "say"


def test_the_model_is_immutable(tmp_path):
    flow, problems = parse(tmp_path, MINIMAL)
    assert problems == []
    with pytest.raises(TypeError):
        flow.nodes["x"] = None
    with pytest.raises(TypeError):
        flow.nodes["start"].opts["next"] = "start"
    with pytest.raises(dataclasses.FrozenInstanceError):
        flow.start = "bye"


def test_a_reload_is_a_new_object_and_a_changed_file_a_new_version(tmp_path):
    path = tmp_path / "f.yaml"
    path.write_text(MINIMAL, encoding="utf-8")
    a = loader.load(path)
    b = loader.load(path)
    assert a is not b and a.digest == b.digest and a.version == b.version
    path.write_text(MINIMAL.replace("Hello", "Hi"), encoding="utf-8")
    assert loader.load(path).version != a.version


def test_default_values_when_the_flow_sets_none(tmp_path):
    flow, _ = parse(tmp_path, MINIMAL)
    assert flow.lang == "zh" and flow.max_steps == schema.MAX_STEPS
    assert flow.defaults["terminators"] == "#" and flow.defaults["barge_in"] is True


@pytest.mark.parametrize("text,code,line,column,message", [
    (MINIMAL.replace("    next: bye", "    nxt: bye"), "unknown-key", 7, 5, "did you mean 'next'"),
    (MINIMAL.replace("type: hangup", "type: hangpu"), "type", 9, 11, "did you mean 'hangup'"),
    (MINIMAL.replace("    next: bye\n", ""), "missing", 4, 3, "needs next"),
    (MINIMAL + "defaults: {timeout: -1}\n", "seconds", 10, 21, "seconds"),
    (MINIMAL + "lang: fr\n", "lang", 10, 7, "zh, en"),
    (MINIMAL.replace("prompts: [hello]", "prompts: [{say: x, as: roman}]"), "say-type", 6, 28, "as:"),
    (MINIMAL.replace("prompts: [hello]", "prompts: ['hello world']"), "prompt", 6, 15, "bad prompt id"),
    (MINIMAL + "vars: {n: '1 +* 2'}\n", "expr", 10, 14, "expected a value"),
    (MINIMAL + "nodes2: {}\n", "unknown-key", 10, 1, "unknown key 'nodes2'"),
])
def test_schema_errors_name_the_place(tmp_path, text, code, line, column, message):
    _, problems = parse(tmp_path, text)
    p = next(p for p in problems if p.code == code)
    assert (p.line, p.column) == (line, column) and message in str(p)
    assert str(p).startswith(f"{tmp_path / 'f.yaml'}:{line}:{column}: error: ")


def test_duplicate_keys_are_errors(tmp_path):
    _, problems = parse(tmp_path, MINIMAL + "  bye:\n    type: hangup\n")
    assert ("duplicate", 10) in codes(problems)


def test_yaml_syntax_errors_have_their_line(tmp_path):
    flow, problems = parse(tmp_path, "nodes:\n  a: [1, 2\n  b: 3\n")
    assert flow is None and problems[0].code == "yaml" and problems[0].line == 3


def test_unquoted_hash_is_reported_with_a_hint(tmp_path):
    text = MINIMAL + "defaults: {terminators: 5X}\n"
    _, problems = parse(tmp_path, text)
    p = next(p for p in problems if p.code == "keys")
    assert 'quote "#"' in p.hint


def test_menu_choices_literal_and_pattern(tmp_path):
    text = """\
    prompts: {m: "press 1"}
    nodes:
      m:
        type: menu
        greeting: m
        choices: {"1": b, "/^8[0-9]{3}$/": b, 12: b}
        max_digits: 4
        on_noinput_exhausted: b
        on_nomatch_exhausted: b
      b: {type: hangup}
    """
    flow, problems = parse(tmp_path, text)
    assert problems == []
    keys = [(c.key, c.pattern is not None) for c in flow.nodes["m"]["choices"]]
    assert keys == [("1", False), ("/^8[0-9]{3}$/", True), ("12", False)]
    assert flow.nodes["m"]["short_greeting"] == flow.nodes["m"]["greeting"]


def test_prompt_item_forms(tmp_path):
    text = MINIMAL.replace("prompts: [hello]",
                           "prompts: [hello, 'file:a.wav', {file: b.wav}, {tts: 你好}, 'tts:hi', {say: n + 1, as: number}]")
    flow, problems = parse(tmp_path, text)
    assert problems == []
    items = flow.nodes["start"]["prompts"]
    assert [(i.kind, i.say_as) for i in items] == [("id", ""), ("file", ""), ("file", ""), ("tts", ""), ("tts", ""),
                                                   ("say", "number")]
    assert items[5].value({"n": 1}) == 2 and items[5].label() == "say:number(n + 1)"


def test_load_refuses_a_flow_with_lint_errors(tmp_path):
    path = tmp_path / "f.yaml"
    path.write_text(MINIMAL.replace("next: bye", "next: nowhere"), encoding="utf-8")
    with pytest.raises(FlowError, match=r"f.yaml:7:11: error: .*'nowhere'") as err:
        loader.load(path)
    assert err.value.line == 7 and err.value.path == str(path)


def test_an_unreadable_file_is_a_problem_not_a_traceback(tmp_path):
    flow, problems = loader.parse(tmp_path / "missing.yaml")
    assert flow is None and problems[0].code == "file"
