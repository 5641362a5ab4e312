"""ivrd as a real process: configuration checks, calls from the simulated exchange answered
and recorded, reload on SIGHUP, drain on SIGTERM, kill -9, failing handlers and boards.

The daemon runs in real time, on an emulated board whose exchange has simulated callers
(they ring, type keys as DTMF audio, listen, hang up). Helpers here are shared by
test_ctl.py, test_metrics_web.py and test_cdr.py.
"""
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from ivr import cdr, config, ctl

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ENV = {**os.environ, "PYTHONPATH": ROOT + os.pathsep + os.environ.get("PYTHONPATH", "")}


def config_text(ports=2, sim_ports="0-1", routes=None, pause=(0.2, 0.4), caller_id="none",
                http="127.0.0.1:0", token=None, drain=5, level="info", extra_boards=""):
    routes = routes or "  - handler: echo\n    options: {max_digits: 4}\n"
    sim = ""
    if sim_ports:
        sim = (f'    simulate: {{ports: "{sim_ports}", pause: [{pause[0]}, {pause[1]}], digits: [2, 3], '
               f'caller_id: {caller_id}, seed: 3}}\n')
    tok = f', token: "{token}"' if token else ""
    return (f"boards:\n  - name: main\n    url: \"emu://analog?ports={ports}\"\n{sim}{extra_boards}"
            f"routes:\n{routes}recordings: rec\ncdr: cdr.sqlite\n"
            f"log: {{format: json, level: {level}, file: ivrd.log}}\n"
            f"http: {{listen: \"{http}\"{tok}}}\ncontrol: {{socket: ivrd.sock}}\ndrain_timeout: {drain}\n")


def ivrd(*args, **kw):
    return subprocess.run([sys.executable, "-m", "ivr.daemon", *args], cwd=ROOT, env=ENV,
                          capture_output=True, text=True, timeout=30, **kw)


class Ivrd:
    """An ivrd process on a configuration written to ``directory``."""

    def __init__(self, directory, text=None, env=None):
        self.dir = str(directory)
        self.config = os.path.join(self.dir, "ivrd.yaml")
        self.socket = os.path.join(self.dir, "ivrd.sock")
        self.cdr = os.path.join(self.dir, "cdr.sqlite")
        self.log = os.path.join(self.dir, "ivrd.log")
        self.write(text or config_text())
        self.env = {**ENV, **(env or {})}
        self.proc = None

    def write(self, text):
        with open(self.config, "w") as f:
            f.write(text)

    def start(self):
        self.proc = subprocess.Popen([sys.executable, "-m", "ivr.daemon", "-c", self.config], cwd=ROOT,
                                     env=self.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, self.proc.communicate()
            try:
                if self.request("status")["ok"]:
                    return self
            except ctl.NotRunning:
                time.sleep(0.05)
        raise AssertionError("ivrd did not come up")

    def request(self, cmd, **args):
        return ctl.request(self.socket, cmd, **args)

    def ctl(self, *args):
        return subprocess.run([sys.executable, "-m", "ivr.ctl", "-s", self.socket, *args], cwd=ROOT, env=self.env,
                              capture_output=True, text=True, timeout=20)

    def wait(self, what, timeout=8.0):
        """Poll ``what()`` until it returns something true; return that."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = what()
            if got:
                return got
            time.sleep(0.05)
        raise AssertionError(f"timed out waiting for {what}")

    def records(self):
        if not os.path.exists(self.cdr):
            return []
        return cdr.read(self.cdr)

    def log_lines(self):
        with open(self.log) as f:
            return [json.loads(line) for line in f]

    def stop(self, sig=signal.SIGTERM, timeout=10):
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(sig)
        try:
            self.proc.wait(timeout)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
            self.proc.stdout.close()
            self.proc.stderr.close()
        return self.proc.returncode


@pytest.fixture
def daemon(tmp_path):
    """Start with ``daemon(text)``; the process is stopped after the test."""
    started = []

    def start(text=None, env=None):
        d = Ivrd(tmp_path, text, env)
        started.append(d)
        return d.start()
    yield start
    for d in started:
        d.stop(signal.SIGKILL)


# --- command line ------------------------------------------------------------------------

def test_sample_config_is_valid_and_shipped_as_flows_ivrd_yaml(tmp_path):
    out = ivrd("--print-sample-config")
    assert out.returncode == 0
    with open(os.path.join(ROOT, "flows", "ivrd.yaml")) as f:
        assert f.read() == out.stdout == config.SAMPLE
    cfg = config.loads(out.stdout, str(tmp_path / "sample.yaml"))
    assert cfg.boards[0].url == "emu://analog?ports=8" and cfg.routes[0].handler_name == "echo"
    assert cfg.http_host == "127.0.0.1" and cfg.control_socket == "/run/ivrd/ivrd.sock"


def test_check_reports_a_valid_file_and_exits_0(tmp_path):
    (tmp_path / "ivrd.yaml").write_text(config_text())
    out = ivrd("--check", "-c", str(tmp_path / "ivrd.yaml"))
    assert out.returncode == 0, out.stderr
    assert "OK: 1 board(s), 2 channel(s), 1 route(s)" in out.stdout


@pytest.mark.parametrize("bad, line, message", [
    ("boards:\n  - url: \"emu://analog?ports=2\"\n    colour: red\n", 3, "unknown key 'colour'"),
    ("boards:\n  - url: \"bogus://x\"\n", 2, "scheme 'bogus' is not known"),
    ("boards:\n  - url: \"emu://analog?ports=2\"\nroutes:\n  - match: {ports: \"0-5\"}\n", 4, "port 5 does not exist"),
    ("boards:\n  - url: \"emu://analog?ports=2\"\nroutes:\n  - handler: nosuch\n", 4, "neither a known handler"),
    ("boards:\n  - url: \"emu://analog?ports=2\"\nroutes:\n  - handler: echo\n    options: {colour: 1}\n", 5,
     "echo has no option 'colour'"),
    ("boards: [\n", 2, "YAML syntax"),
    ("boards:\n  - url: \"emu://analog?ports=2\"\nroutes:\n  - {}\nrecordings: r\ncdr: \"postgresql://db/ivr\"\n", 6,
     "postgresql:// stores are not supported"),
    ("boards:\n  - url: \"emu://analog?ports=2\"\nroutes:\n  - {}\nrecordings: r\ncdr: c\n"
     "http: {listen: \"0.0.0.0:9466\"}\n", 7, "set http.token"),
    ("boards:\n  - url: \"emu://analog?ports=2\"\nroutes:\n  - {}\nrecordings: r\ncdr: c\nbank: nosuch.db\n", 7,
     "nosuch.db does not exist (create it: python -m ivr.bank --db "),
])
def test_check_names_file_and_line_of_each_error_and_exits_6(tmp_path, bad, line, message):
    path = tmp_path / "bad.yaml"
    path.write_text(bad)
    out = ivrd("--check", "-c", str(path))
    assert out.returncode == 6
    assert out.stderr.startswith(f"ivrd: {path}:{line}: ") and message in out.stderr, out.stderr
    assert "Traceback" not in out.stderr and len(out.stderr.splitlines()) == 1


def test_no_configuration_exits_6_and_bad_arguments_exit_2(tmp_path):
    out = ivrd()
    assert out.returncode == 6 and "no configuration" in out.stderr
    assert ivrd("--frobnicate").returncode == 2
    assert ivrd("--check", "-c", str(tmp_path / "missing.yaml")).returncode == 6


# --- calls ---------------------------------------------------------------------------------

def test_calls_are_answered_handled_and_recorded_with_call_id_on_every_log_line(daemon):
    d = daemon(config_text(caller_id="dtmf", routes="  - match: {ports: \"0\"}\n    handler: echo\n"
                                                   "  - handler: echo\n    sensitive: true\n"))
    recs = d.wait(lambda: len(d.records()) >= 2 and {r["channel"] for r in d.records()} == {0, 1} and d.records())
    by_port = {r["channel"]: r for r in recs}
    for port, r in by_port.items():
        assert r["outcome"] == "completed" and r["board"] == "main"
        assert r["ani"] == f"8800{port:04d}"            # DTMF caller ID before ring 1
        assert r["start"] <= r["answer"] <= r["end"]
        assert r["node_path"] == ["prompt", "collect", "echo", "goodbye"]
        assert r["handler"] == "echo" and r["version"].startswith("echo@")
    assert by_port[0]["keys"].isdigit() and 2 <= len(by_port[0]["keys"]) <= 3
    assert set(by_port[1]["keys"]) == {"*"}             # sensitive route: masked
    lines = d.log_lines()
    for r in recs:
        mine = [ln for ln in lines if ln["call_id"] == r["id"]]
        assert mine[0]["msg"].startswith("call on main:") and mine[-1]["msg"] == "call ended: completed"
        first, last = lines.index(mine[0]), lines.index(mine[-1])
        # Every line about this call's channel between its start and end carries its id.
        chan = f"main:{r['channel']}"
        assert all(ln["call_id"] == r["id"] for ln in lines[first:last + 1] if chan in ln["msg"])
    keys_logged = {ln["call_id"]: ln["msg"] for ln in lines if ln["msg"].startswith("keys ")}
    assert keys_logged[by_port[0]["id"]] == f"keys {by_port[0]['keys']}"
    assert keys_logged[by_port[1]["id"]] == f"keys {by_port[1]['keys']}"      # masked in the log too
    assert d.stop() == 0


def test_sighup_with_a_broken_config_keeps_the_old_one_and_a_good_one_applies(daemon):
    d = daemon(config_text(pause=(0.1, 0.2)))
    old = d.request("status")
    d.write("boards:\n  - url: \"emu://analog?ports=2\"\nroutes: 7\n")
    d.proc.send_signal(signal.SIGHUP)
    d.wait(lambda: any("reload rejected" in ln["msg"] for ln in d.log_lines()))
    rejected = next(ln for ln in d.log_lines() if "reload rejected" in ln["msg"])
    assert f"{d.config}:3: routes must be a non-empty list" in rejected["msg"]
    assert d.request("status")["generation"] == old["generation"] == 1
    d.wait(lambda: d.request("calls")["calls"])        # a call in progress across the reload
    in_progress = {c["id"]: c["version"] for c in d.request("calls")["calls"]}
    d.write(config_text(pause=(0.1, 0.2), routes="  - handler: echo\n    options: {max_digits: 5}\n"))
    d.proc.send_signal(signal.SIGHUP)
    d.wait(lambda: d.request("status")["generation"] == 2)
    new_version = config.load(d.config).routes[0].version
    old_version = next(iter(in_progress.values()))
    assert new_version != old_version
    recs = d.wait(lambda: (lambda rs: rs if any(r["version"] == new_version for r in rs)
                           and all(i in {r["id"] for r in rs} for i in in_progress) else None)(d.records()))
    for r in recs:
        if r["id"] in in_progress:
            assert r["version"] == in_progress[r["id"]] == old_version   # kept its version
    assert d.stop() == 0


def test_sigterm_stops_answering_drains_calls_and_exits_0(daemon):
    d = daemon(config_text(pause=(0.1, 0.2)))
    live = d.wait(lambda: [c for c in d.request("calls")["calls"] if c["step"] in ("prompt", "collect")])
    assert d.stop(signal.SIGTERM) == 0
    recs = {r["id"]: r for r in d.records()}
    for c in live:
        assert recs[c["id"]]["outcome"] == "completed"       # finished, not cut
    assert not any(r["outcome"] == "drain_timeout" for r in recs.values())
    assert any("ivrd stopped" == ln["msg"] for ln in d.log_lines())


HANDLERS = '''
import asyncio

async def boom(channel, call):
    call.step("boom")
    raise RuntimeError("handler bug")

async def hold(channel, call):
    call.step("hold")
    await asyncio.sleep(60)
    return "held"
'''


def test_a_failing_handler_ends_only_its_own_call_as_error(daemon, tmp_path):
    (tmp_path / "testhandlers.py").write_text(HANDLERS)
    routes = ("  - match: {ports: \"0\"}\n    handler: \"testhandlers:boom\"\n"
              "  - handler: echo\n")
    d = daemon(config_text(routes=routes), env={"PYTHONPATH": f"{tmp_path}{os.pathsep}{ENV['PYTHONPATH']}"})
    recs = d.wait(lambda: (lambda rs: rs if {0, 1} <= {r["channel"] for r in rs} else None)(d.records()))
    for r in recs:
        if r["channel"] == 0:
            assert r["outcome"] == "error" and r["error"] == "RuntimeError: handler bug"
            assert r["node_path"] == ["boom"]
        else:
            assert r["outcome"] == "completed"
    assert d.proc.poll() is None
    assert d.request("status")["counters"]["errors"] >= 1
    assert any(ln.get("exc") and "handler bug" in ln["exc"] and ln["call_id"] for ln in d.log_lines())
    assert d.stop() == 0


def test_drain_deadline_cuts_calls_that_do_not_end_and_exits_0(daemon, tmp_path):
    (tmp_path / "testhandlers.py").write_text(HANDLERS)
    d = daemon(config_text(routes="  - handler: \"testhandlers:hold\"\n", drain=0.5),
               env={"PYTHONPATH": f"{tmp_path}{os.pathsep}{ENV['PYTHONPATH']}"})
    held = d.wait(lambda: d.request("calls")["calls"])
    t0 = time.monotonic()
    assert d.stop(signal.SIGTERM) == 0
    assert time.monotonic() - t0 < 3
    recs = {r["id"]: r for r in d.records()}
    assert recs[held[0]["id"]]["outcome"] == "drain_timeout"


def test_a_board_that_fails_to_open_does_not_stop_the_others(daemon, tmp_path):
    broken = f"  - name: gone\n    url: \"emu://analog?ports=1&cable={tmp_path}/no-such-socket\"\n"
    d = daemon(config_text(extra_boards=broken))
    boards = {b["name"]: b["state"] for b in d.request("status")["boards"]}
    assert boards["main"] == "running" and boards["gone"].startswith("failed:")
    d.wait(lambda: d.records())
    assert d.stop() == 0


# --- the bank service -------------------------------------------------------------------------

RATES_FLOW = """\
flow: rates
lang: en
languages: [en]
prompts: {}
nodes:
  rates: {type: action, call: bank.interest_rates, result: rates, on: {not_found: no_rates}, next: has_rates}
  has_rates: {type: hangup}
  no_rates: {type: hangup}
"""
RATES_ROUTE = "  - handler: flow\n    flow: rates.yaml\n    options: {actions: ivr.bank.actions}\n"


def test_the_configured_bank_service_is_the_one_the_flow_actions_use(daemon, tmp_path):
    from ivr.bank import open_bank
    from ivr.bank.seed import seed
    from test_bank_service import TEST_COST

    (tmp_path / "rates.yaml").write_text(RATES_FLOW)
    with open_bank(str(tmp_path / "bank.db"), pin_cost=TEST_COST) as bank:
        seed(bank)                                  # the interest rate table among the rest
    # $IVR_BANK_URL names an empty store: a daemon ignoring `bank:` would find no rates there.
    empty = tmp_path / "empty.db"
    open_bank(str(empty)).close()
    d = daemon(config_text(routes=RATES_ROUTE) + "bank: bank.db\n", env={"IVR_BANK_URL": str(empty)})
    rows = d.wait(lambda: d.records())
    assert all(r["node_path"] == ["rates", "has_rates"] for r in rows), rows
    assert d.stop() == 0


def test_a_bank_service_that_cannot_be_reached_stops_the_start_without_its_password(tmp_path):
    # Port 9 (discard) on the loopback: nothing listens, the connection is refused at once.
    (tmp_path / "ivrd.yaml").write_text(config_text(sim_ports="")
                                        + "bank: \"postgresql://ivr:s3cret%40pw@127.0.0.1:9/bank\"\n")
    out = ivrd("-c", str(tmp_path / "ivrd.yaml"))
    assert out.returncode == 1
    errors = [json.loads(line) for line in (tmp_path / "ivrd.log").read_text().splitlines()]
    errors = [e["msg"] for e in errors if e["level"] == "error"]
    assert len(errors) == 1 and errors[0].startswith(
        "cannot open the bank service postgresql://ivr:***@127.0.0.1:9/bank: "), errors
    assert "s3cret" not in (tmp_path / "ivrd.log").read_text() + out.stderr + out.stdout

def test_a_second_daemon_on_the_same_socket_refuses_to_start(daemon):
    d = daemon(config_text(sim_ports=""))
    second = ivrd("-c", d.config)
    assert second.returncode == 1
    assert d.request("status")["ok"]                    # the first one is untouched
    errors = [ln["msg"] for ln in d.log_lines() if ln["level"] == "error"]
    assert errors == [f"cannot start: control socket {d.socket} is in use: is another ivrd running?"]
    assert d.stop() == 0


def test_kill_9_leaves_every_record_written_so_far_intact(daemon):
    d = daemon(config_text(pause=(0.1, 0.2)))
    d.wait(lambda: len(d.records()) >= 3, timeout=10)
    seen = d.request("status")["counters"]["calls"]
    d.proc.kill()
    d.proc.wait()
    db = sqlite3.connect(d.cdr)
    assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    rows = db.execute('SELECT id, outcome, start, "end" FROM cdr').fetchall()
    db.close()
    assert len(rows) >= seen >= 3
    assert all(r[0] and r[1] and r[2] <= r[3] for r in rows)


