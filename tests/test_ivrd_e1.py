"""ivrd on an emulated E1 span with simulated callers walking a flow (ivr/loadsim.py).

Real time, real parts: the E1 board and its exchange (framer, R2 register signalling with DNIS
and ANI, A-law bearer), the callers pressing keys as DTMF audio, the flow interpreter with
espeak-ng prompts, the SQLite call records. A short flow keeps each call to a few seconds;
``ivrd --demo`` runs as a process with the banking flow (tests/test_banking_walk.py runs its
walks in virtual time).
"""
import asyncio
import os
import signal
import subprocess
import sys
import time

import pytest

from ivr import cdr, config, daemon, loadsim

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ENV = {**os.environ, "PYTHONPATH": ROOT + os.pathsep + os.environ.get("PYTHONPATH", "")}

FLOW = """\
flow: e1_short
lang: en
languages: [en]
prompts:
  menu: {en: "For your account press one."}
  pin: {en: "Please enter your four digit PIN now."}
  bye: {en: "Goodbye."}
nodes:
  main:
    type: menu
    greeting: [menu]
    choices: {"1": pin}
    on_noinput_exhausted: bye
    on_nomatch_exhausted: bye
  pin:
    type: collect
    prompt: [pin]
    var: pin
    min_digits: 4
    max_digits: 4
    mask: true
    on_noinput_exhausted: bye
    on_nomatch_exhausted: bye
    next: bye
  bye:
    type: hangup
    prompt: [bye]
"""

WALKS = """\
dnis: "95566"
walks:
  - name: pin
    steps:
      - {at: end, pause: 0.2, keys: "1"}
      - {at: 0.5, keys: "4321", reported: "****"}
    end: board
"""


def write(path, text):
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    return str(path)


def e1_config(tmp_path, simulate):
    write(tmp_path / "short.yaml", FLOW)
    write(tmp_path / "walk.yaml", WALKS)
    return f"""
boards:
  - name: trunk
    url: "emu://e1?spans=1"
    simulate: {simulate}
routes:
  - match: {{dnis: "95566"}}
    handler: flow
    flow: short.yaml
recordings: rec
cdr: cdr.sqlite
log: {{format: text, level: warning, file: ivrd.log}}
http: {{listen: "127.0.0.1:0"}}
control: {{socket: ivrd.sock}}
drain_timeout: 5
"""


def test_calls_on_an_e1_span_walk_the_flow_and_are_recorded_with_dnis_ani_and_masked_keys(tmp_path):
    text = e1_config(tmp_path, '{ports: "0-3", walks: walk.yaml, pause: [0.2, 0.6], seed: 2}')
    cfg = config.loads(text, str(tmp_path / "ivrd.yaml"))
    d = daemon.Daemon(cfg)

    async def run():
        # 9 s: the span comes up in about 1 s, a call takes about 4 s.
        asyncio.get_running_loop().call_later(9.0, d._record_signal, signal.SIGINT)
        return await d.run()

    assert asyncio.run(run()) == daemon.EXIT_OK
    rows = cdr.read(str(tmp_path / "cdr.sqlite"))
    done = [r for r in rows if r["outcome"] == "hangup"]
    assert len(done) >= 4, [(r["outcome"], r["error"]) for r in rows]
    for r in done:
        assert r["dnis"] == "95566"
        assert r["ani"] == f"1380000{r['channel']:04d}"
        assert r["keys"] == "1****"                        # the PIN is masked by the flow
        assert r["node_path"][:3] == ["main", "pin", "bye"]
    s = d.callers.as_dict()
    # A caller counts its call once the line is released; at the stop, up to one call per
    # caller may be recorded but not yet counted.
    assert len(done) - 4 <= s["completed"] <= len(done) and s["completed"] >= 1 and not s["lost"]
    assert s["digits_sent"] >= 5 * s["completed"]
    # Every PIN barged into its prompt: the prompt stopped within the receiver's detection
    # time plus a few ticks of the line.
    assert s["latency_samples"] >= s["completed"]
    assert 0.02 <= s["latency_p50_ms"] / 1000 <= 0.2


def test_e1_callers_need_a_walk_table_and_link_socket_for_another_process(tmp_path):
    where = str(tmp_path / "ivrd.yaml")
    text = e1_config(tmp_path, '{ports: "0-3"}')
    with pytest.raises(config.ConfigError) as exc:
        config.loads(text, where)
    assert str(exc.value).startswith(f"{where}:5: ") and "walks:" in str(exc.value)
    text = e1_config(tmp_path, '{walks: walk.yaml, process: true}')
    with pytest.raises(config.ConfigError, match="link=socket"):
        config.loads(text, where)
    bad = write(tmp_path / "bad_walk.yaml", "walks:\n  - steps: [{at: soon, keys: '1'}]\n")
    with pytest.raises(config.ConfigError) as exc:
        loadsim.load_walks(bad)
    assert str(exc.value) == f"{bad}: walks[0].steps[0]: 'at' must be end or seconds >= 0"


def test_demo_runs_the_banking_flow_on_e1_and_ctrl_c_drains_and_exits_0():
    proc = subprocess.Popen([sys.executable, "-m", "ivr.daemon", "--demo"], cwd=ROOT, env=ENV,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        seen = ""
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            assert line, proc.stderr.read()
            seen += line
            # Wait until some call is in the flow's menus (a node shown in the STEP column).
            if line.startswith("e1:") and len(line.split()) >= 5:
                break
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    last = out.split("\x1b[H\x1b[2J")[-1]
    for port in range(30):
        assert f"e1:{port} " in last
    assert "DRAINING" in last and "simulated callers: calls" in last
    path = last.split("call records: ")[1].strip()
    rows = cdr.read(path)
    # Calls in progress at Ctrl-C were cut by the drain timeout, each with its record; a walk
    # that ended before hung up itself (banking_walk.yaml).
    assert rows and all(r["dnis"] == "95566" and r["ani"].startswith("1380000") for r in rows)
    assert {r["outcome"] for r in rows} <= {"caller_hangup", "drain_timeout"}
    assert all(r["node_path"][:3] == ["welcome", "begin", "main"] for r in rows)
    assert last.split("bank store: ")[1].split("\n")[0] == os.path.join(os.path.dirname(path), "bank.db")
