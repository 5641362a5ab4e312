"""Scripted callers (ivr test), path coverage, timelines of failures, and ivr graph."""
import argparse
import io
import os
import shutil
import textwrap

import numpy as np
import pytest

from ivr import cli_graph, cli_test, graph, loader, simulator
from voiceboard import clock, dsp

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FLOWS = os.path.join(ROOT, "flows")
EXAMPLES = [("sample.yaml", "examples/sample_test.yaml"), ("examples/menus.yaml", "examples/menus_test.yaml"),
            ("examples/amount.yaml", "examples/amount_test.yaml")]

FLOW = """\
prompts:
  menu: {zh: "余额请按1"}
  bye: {zh: "再见"}
nodes:
  main:
    type: menu
    greeting: menu
    choices: {"1": bye}
    on_noinput_exhausted: bye
    on_nomatch_exhausted: bye
  bye: {type: hangup, prompt: bye}
"""


def cli(module, argv):
    parser = argparse.ArgumentParser(prog="ivr")
    module.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    out = io.StringIO()
    return args.func(args, out=out), out.getvalue()


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return str(path)


@pytest.mark.parametrize("flow,scenarios", EXAMPLES)
def test_the_shipped_scenarios_pass(flow, scenarios):
    status, out = cli(cli_test, ["test", os.path.join(FLOWS, flow), os.path.join(FLOWS, scenarios), "--coverage"])
    assert status == 0, out
    assert " 0 failed" in out and "coverage: " in out


def test_coverage_report_marks_taken_and_missed_branches():
    status, out = cli(cli_test, ["test", os.path.join(FLOWS, "examples/menus.yaml"),
                                 os.path.join(FLOWS, "examples/menus_test.yaml"), "--coverage"])
    lines = {line.strip().split(" (")[0]: line for line in out.splitlines() if line.startswith("  ")}
    assert "+choice 1" in lines["+ accounts"] and "+repeat" in lines["+ accounts"] and "+back" in lines["+ accounts"]
    assert "-nomatch" in lines["+ accounts"] and "+noinput_exhausted" in lines["+ top"]
    assert "+choice /^[3-8][0-9]{3}$/" in lines["+ top"]


def test_one_scenario_by_name(tmp_path):
    flow = write(tmp_path, "f.yaml", FLOW)
    sc = write(tmp_path, "s.yaml", """\
    scenarios:
      - name: one
        steps: [{until: menu}, {press: "1"}]
        expect: {path: [main, bye]}
      - name: two
        steps: []
    """)
    status, out = cli(cli_test, ["test", flow, sc, "--scenario", "one"])
    assert status == 0 and out.splitlines() == ["ok   one", "1 passed, 0 failed"]


def test_a_failing_scenario_prints_a_readable_timeline(tmp_path):
    flow = write(tmp_path, "f.yaml", FLOW)
    sc = write(tmp_path, "s.yaml", """\
    scenarios:
      - name: expects the wrong prompts
        steps: [{until: menu}, {wait: 0.5}, {press: "1"}]
        expect:
          prompts: [menu, goodbye]
          vars: {nothing: 1}
          outcome: transferred
    """)
    status, out = cli(cli_test, ["test", flow, sc])
    assert status == 1
    lines = out.splitlines()
    assert lines[0] == "FAIL expects the wrong prompts"
    assert "  - prompts: expected ['menu', 'goodbye'], played ['menu', 'bye']" in lines
    assert "  - vars: nothing is None, expected 1" in lines
    assert "  - outcome: expected 'transferred', got 'hangup'" in lines
    timeline = lines[lines.index("  timeline:") + 1:]
    assert timeline[0].split() == ["0.00s", "caller", "heard", "menu"]
    assert any(line.split()[1:] == ["caller", "press", "1"] for line in timeline)
    assert any(line.split()[1:3] == ["flow", "barge_in"] for line in timeline)
    assert "  path: main -> bye" in lines and lines[-1] == "0 passed, 1 failed"


def test_waiting_for_a_prompt_that_never_plays_fails(tmp_path):
    flow = loader.load(write(tmp_path, "f.yaml", FLOW))
    r = clock.run(simulator.run_scenario(flow, {"name": "x", "steps": [{"until": "nope"}]}))
    assert not r.ok and "step until: nope: the prompt never played" in r.failures


def test_steps_left_when_the_call_ends_fail(tmp_path):
    flow = loader.load(write(tmp_path, "f.yaml", FLOW))
    steps = [{"until": "menu"}, {"press": "1"}, {"wait": 5}, {"press": "1"}]
    r = clock.run(simulator.run_scenario(flow, {"name": "x", "steps": steps}))
    assert not r.ok and any("the call ended during step 3" in f for f in r.failures)


def test_runs_are_deterministic(tmp_path):
    flow = loader.load(os.path.join(FLOWS, "sample.yaml"))
    data = simulator.load_scenarios(os.path.join(FLOWS, "examples/sample_test.yaml"))
    sc = data["scenarios"][0]

    def once():
        r = clock.run(simulator.run_scenario(flow, sc, data))
        rec = {k: v for k, v in r.record.items() if k not in ("call_id",)}
        return r.timeline, rec

    assert once() == once()


@pytest.mark.parametrize("text,message", [
    ("scenarios: [{name: a, steps: [{jump: 1}]}]\n", "scenario a: step 1 {'jump': 1}: use one of until"),
    ("scenarios: [{name: a, expect: {prompt: [x]}}]\n", "unknown expectation(s) prompt"),
    ("scenarios: [{name: a, colour: red}]\n", "scenario a: unknown key(s) colour"),
    ("scenario: []\n", "a mapping with a scenarios: list"),
    ("scenarios: [\n  {name: a\n", "s.yaml:3:1: not valid YAML"),
])
def test_bad_scenario_files_name_the_place(tmp_path, text, message):
    flow = write(tmp_path, "f.yaml", FLOW)
    sc = write(tmp_path, "s.yaml", text)
    with pytest.raises(simulator.ScenarioError) as err:
        simulator.load_scenarios(sc)
    assert message in str(err.value) and str(err.value).startswith(sc)
    status, out = cli(cli_test, ["test", flow, sc])
    assert status == 1 and out.count("\n") == 1 and message in out


def test_a_flow_with_lint_errors_is_refused(tmp_path):
    flow = write(tmp_path, "f.yaml", FLOW.replace('"1": bye', '"1": nowhere'))
    sc = write(tmp_path, "s.yaml", "scenarios: []\n")
    status, out = cli(cli_test, ["test", flow, sc])
    assert status == 1 and out.startswith("ivr test: ") and "f.yaml:8:20: error:" in out


def test_tone_prompts_are_real_audio_without_dtmf():
    flow = loader.load(os.path.join(FLOWS, "sample.yaml"))
    store = simulator.TonePrompts(flow)
    welcome = store.load("welcome", "zh")
    assert welcome.dtype == np.int16 and welcome.size == int(round(len("您好，欢迎致电示范银行。") * 0.25 * 8000))
    assert store.load("welcome", "en").size < welcome.size
    assert store.load("unknown_id", "zh").size == int(simulator.UNTEXTED_SECONDS * 8000)
    rms = np.sqrt(np.mean(welcome.astype(float) ** 2))
    assert abs(20 * np.log10(rms / 16141) - simulator.LEVEL_DBM0) < 0.1
    for pid in flow.prompts:
        assert dsp.detect_dtmf(store.load(pid, "zh")) == [], pid


def test_coverage_counts_over_records():
    flow = loader.load(os.path.join(FLOWS, "examples/menus.yaml"))
    records = [{"path": ["top", "accounts"], "branches": [("", "top", "choice 1"), ("", "accounts", "repeat")]}]
    cov = simulator.coverage(flow, records)
    assert cov["top"][0] is True and cov["top"][2]["choice 1"] is True and cov["top"][2]["choice 2"] is False
    assert cov["accounts"][2]["repeat"] is True and cov["cards"][0] is False


# --- ivr graph -------------------------------------------------------------------------------------

def test_dot_text_has_every_node_and_edge():
    flow = loader.load(os.path.join(FLOWS, "sample.yaml"))
    text = graph.to_dot(flow)
    for node in flow.all_nodes():
        name = f"{node.scope}/{node.name}" if node.scope else node.name
        assert f'"{name}" [label=' in text
    assert '"main" -> "card" [label="1"];' in text
    assert '"main" -> "agent" [label="noinput_exhausted", style=dashed];' in text
    assert '"verify" -> "check_pin/init" [label="call", style=dashed];' in text
    assert "subgraph cluster_0" in text


def test_graph_command_draws_svg_with_the_best_engine(tmp_path):
    out = str(tmp_path / "flow.svg")
    status, text = cli(cli_graph, ["graph", os.path.join(FLOWS, "sample.yaml"), "-o", out])
    engine = "dot" if shutil.which("dot") else "matplotlib"
    assert status == 0 and text.strip().endswith(f"25 nodes drawn with {engine}")
    body = open(out, encoding="utf-8").read()
    assert "<svg" in body and ("check_pin" in body or engine == "matplotlib")


def test_graph_with_matplotlib_png(tmp_path):
    out = str(tmp_path / "flow.png")
    status, _ = cli(cli_graph, ["graph", os.path.join(FLOWS, "examples/menus.yaml"), "-o", out,
                                "--engine", "matplotlib"])
    data = open(out, "rb").read()
    assert status == 0 and data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10000


def test_graph_rejects_an_unknown_format(tmp_path):
    flow = loader.load(os.path.join(FLOWS, "sample.yaml"))
    with pytest.raises(ValueError, match=r"must end in \.svg, \.png, \.pdf or \.dot"):
        graph.render(flow, str(tmp_path / "x.gif"))
