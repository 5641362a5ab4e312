"""ivrctl against a running ivrd over its UNIX control socket (real processes)."""
import csv
import io
import os
import signal
import stat
import subprocess
import sys

from test_daemon import ENV, ROOT, config_text, daemon  # noqa: F401  (daemon is a fixture)


def test_not_running_is_one_line_and_exit_7(tmp_path):
    out = subprocess.run([sys.executable, "-m", "ivr.ctl", "-s", str(tmp_path / "none.sock"), "status"],
                         cwd=ROOT, env=ENV, capture_output=True, text=True)
    assert out.returncode == 7
    assert out.stderr == f"ivrctl: ivrd is not running (no daemon on {tmp_path / 'none.sock'})\n"


def test_help_has_examples_and_bad_arguments_exit_2():
    out = subprocess.run([sys.executable, "-m", "ivr.ctl", "--help"], cwd=ROOT, env=ENV,
                         capture_output=True, text=True)
    assert out.returncode == 0
    for example in ("ivrctl block main:3", "ivrctl hangup", "ivrctl cdr export --since 2h", "ivrctl reload"):
        assert example in out.stdout
    bad = subprocess.run([sys.executable, "-m", "ivr.ctl", "frob"], cwd=ROOT, env=ENV, capture_output=True)
    assert bad.returncode == 2


def test_socket_is_0660_and_status_channels_calls_answer(daemon):
    d = daemon()
    assert stat.S_IMODE(os.stat(d.socket).st_mode) == 0o660
    assert stat.S_ISSOCK(os.stat(d.socket).st_mode)
    out = d.ctl("status")
    assert out.returncode == 0
    assert f"ivrd pid {d.proc.pid}" in out.stdout and "board main: running" in out.stdout
    chans = d.ctl("channels").stdout.splitlines()
    assert chans[0].split() == ["CHANNEL", "STATE", "CALL", "STEP", "ANI"]
    assert [ln.split()[0] for ln in chans[1:]] == ["main:0", "main:1"]
    d.wait(lambda: d.records())
    calls = d.ctl("calls").stdout
    assert "in progress:" in calls and "recent:" in calls and "completed" in calls
    # With -c the socket comes from the configuration file.
    by_config = subprocess.run([sys.executable, "-m", "ivr.ctl", "-c", d.config, "--json", "status"],
                               cwd=ROOT, env=ENV, capture_output=True, text=True)
    assert by_config.returncode == 0 and '"generation": 1' in by_config.stdout
    assert d.stop() == 0


def test_hangup_ends_a_call_as_operator_hangup(daemon, tmp_path):
    (tmp_path / "slowhandlers.py").write_text(
        "import asyncio\n\nasync def wait(channel, call):\n    call.step('wait')\n"
        "    got = await channel.collect(max_digits=20, terminators='', first_timeout=30, inter_timeout=30)\n"
        "    return 'caller_hangup' if got.reason == 'hangup' else 'completed'\n")
    d = daemon(config_text(sim_ports="0", routes="  - handler: \"slowhandlers:wait\"\n"),
               env={"PYTHONPATH": f"{tmp_path}{os.pathsep}{ENV['PYTHONPATH']}"})
    call = d.wait(lambda: d.request("calls")["calls"])[0]
    out = d.ctl("hangup", call["id"])
    assert out.returncode == 0 and out.stdout == f"call {call['id']} hung up\n"
    rec = d.wait(lambda: [r for r in d.records() if r["id"] == call["id"]])[0]
    assert rec["outcome"] == "operator_hangup"
    missing = d.ctl("hangup", "0000")
    assert missing.returncode == 1 and "no call '0000' in progress" in missing.stderr
    assert d.stop() == 0


def test_block_and_unblock_a_channel(daemon):
    d = daemon(config_text(sim_ports=""))
    out = d.ctl("block", "main:1")
    assert out.returncode == 0 and out.stdout == "channel main:1: out_of_service\n"
    states = {c["id"]: c["state"] for c in d.request("channels")["channels"]}
    assert states == {"main:0": "idle", "main:1": "out_of_service"}
    assert d.ctl("unblock", "1").stdout == "channel main:1: idle\n"     # one board: PORT alone is enough
    again = d.ctl("unblock", "main:1")
    assert again.returncode == 1 and "is not blocked" in again.stderr
    wrong = d.ctl("block", "main:9")
    assert wrong.returncode == 1 and "port must be 0 to 1" in wrong.stderr
    assert d.ctl("block", "other:1").returncode == 1
    assert d.stop() == 0


def test_drain_stops_answering_and_resume_answers_again(daemon):
    d = daemon(config_text(pause=(0.1, 0.2)))
    assert d.ctl("drain").returncode == 0
    d.wait(lambda: not d.request("calls")["calls"])
    count = len(d.records())
    # Callers keep ringing, nobody answers: the count does not move.
    d.wait(lambda: any(c["state"] == "ringing" for c in d.request("channels")["channels"]))
    assert len(d.records()) == count and d.request("status")["draining"] is True
    assert not d.request("calls")["calls"]
    assert d.ctl("resume").returncode == 0
    d.wait(lambda: len(d.records()) > count)
    assert d.stop() == 0


def test_reload_reports_errors_and_success(daemon):
    d = daemon()
    d.write("boards: 3\n")
    bad = d.ctl("reload")
    assert bad.returncode == 1 and f"{d.config}:1: boards must be a non-empty list" in bad.stderr
    d.write(config_text(routes="  - handler: echo\n    options: {max_digits: 2}\n"))
    good = d.ctl("reload")
    assert good.returncode == 0 and good.stdout == "configuration reloaded (generation 2)\n"
    assert d.stop() == 0


def test_cdr_export_as_csv_and_stop(daemon):
    d = daemon(config_text(pause=(0.1, 0.2)))
    d.wait(lambda: len(d.records()) >= 2)
    out = d.ctl("cdr", "export", "--since", "1h")
    rows = list(csv.DictReader(io.StringIO(out.stdout)))
    assert out.returncode == 0 and len(rows) >= 2
    assert rows[0]["outcome"] == "completed" and rows[0]["start"].endswith("Z")
    assert d.ctl("cdr", "export", "--since", "2999-01-01").stdout.count("\n") == 1   # header only
    assert d.ctl("cdr", "export", "--since", "yesterday-ish").returncode == 1
    assert d.ctl("stop").returncode == 0
    assert d.proc.wait(10) == 0
    d.stop(signal.SIGKILL)
