"""ivrd under load: 8 emulated E1 spans (240 channels), callers walking a flow in real time.

Starts ``ivrd -c <generated config>`` whose board is ``emu://e1?spans=8&link=socket`` with
``simulate: {process: true}``: the simulated exchange and its 240 callers run in another
process (python -m ivr.loadsim) over the E1 socket link, paced by the board's frames. The
callers walk the flow's menus along its walk table (by default the demo's: flows/banking.yaml
with flows/banking_walk.yaml and the bank actions, on a demo bank store seeded afresh in the
run's directory, the configuration's `bank:`), pressing keys as DTMF audio and timing
each barge-in from their key's tone to the prompt stopping.

At the end the callers stop starting calls, the calls in progress finish, ivrd is stopped
(SIGTERM, drain) and the bench reports: calls completed, lost calls (not answered, cut),
missed or extra digits (the keys each caller should have caused in the call record, per
channel and call, against the CDR keys), audio underruns (ivrd metrics: late ticks, failed
ticks), p50/p99 key-press-to-prompt-stop latency, ivrd CPU (from /proc/PID/stat over the
run) and peak RSS (VmHWM), and the same for the callers' process.

Usage: python bench/ivrd_load.py [--seconds 600] [--spans 8] [--flow flows/banking.yaml]
       [--walks flows/banking_walk.yaml] [--actions ivr.bank.actions] [--json OUT]
Exit status 0 when the run had no lost call, no call record with another outcome than hangup or
caller_hangup, no missed or extra digit and no underrun.
"""
import argparse
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from ivr import cdr as _cdr  # noqa: E402
from ivr import config as _config  # noqa: E402

CLK_TCK = os.sysconf("SC_CLK_TCK")
FINISH_TIMEOUT_S = 180.0        # calls in progress at the end: the longest banking walk takes ~85 s
WARMUP_S = 10.0                 # CPU is counted from here (span alignment, prompt rendering)


def cpu_seconds(pid):
    """utime + stime of ``pid`` (proc(5): fields 14 and 15 of /proc/PID/stat)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def peak_rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        m = re.search(r"^VmHWM:\s+(\d+) kB", f.read(), re.M)
    return int(m.group(1)) / 1024


def children(pid):
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(p) for p in f.read().split()]
    except OSError:
        return []


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def metrics(port):
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode()
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            out[name] = float(value)
    return out


def total(m, prefix):
    return sum(v for k, v in m.items() if k.split("{")[0] == prefix)


def write_config(tmp, args, http_port):
    text = f"""
boards:
  - name: e1
    url: "emu://e1?spans={args.spans}&link=socket"
    simulate:
      walks: "{os.path.abspath(args.walks)}"
      pause: [{args.pause[0]}, {args.pause[1]}]
      process: true
      report: callers.json
routes:
  - handler: flow
    flow: "{os.path.abspath(args.flow)}"
    options: {{actions: {args.actions}}}
recordings: recordings
cdr: cdr.sqlite
bank: {_config.DEMO_BANK}
log: {{format: text, level: warning, file: ivrd.log}}
http: {{listen: "127.0.0.1:{http_port}"}}
control: {{socket: ivrd.sock}}
drain_timeout: 60
"""
    path = os.path.join(tmp, "ivrd.yaml")
    with open(path, "w") as f:
        f.write(text)
    return path


def read_report(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def compare_keys(expected, rows):
    """Per channel, the n-th answered call's expected keys against the n-th record's keys."""
    by_channel = {}
    for r in rows:
        by_channel.setdefault(str(r["channel"]), []).append(r["keys"] or "")
    missed = extra = wrong_calls = 0
    for ch in set(expected) | set(by_channel):
        want, got = expected.get(ch, []), by_channel.get(ch, [])
        for i in range(max(len(want), len(got))):
            w = want[i] if i < len(want) else ""
            g = got[i] if i < len(got) else ""
            if w != g:
                wrong_calls += 1
                missed += max(0, len(w) - len(g))
                extra += max(0, len(g) - len(w))
    return missed, extra, wrong_calls


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seconds", type=float, default=600.0, help="calls are started for this long [600]")
    p.add_argument("--spans", type=int, default=8, help="E1 spans of 30 channels [8]")
    p.add_argument("--flow", default=_config.DEMO_FLOW)
    p.add_argument("--walks", default=_config.DEMO_WALKS)
    p.add_argument("--actions", default=_config.DEMO_ACTIONS, help="module registering the flow's actions")
    p.add_argument("--pause", type=float, nargs=2, default=(1.0, 4.0), metavar=("LO", "HI"),
                   help="seconds between two calls of a caller [1 4]")
    p.add_argument("--json", help="also write the figures here")
    args = p.parse_args()
    tmp = tempfile.mkdtemp(prefix="ivrd-load-")
    http_port = free_port()
    _config.demo_bank(tmp)          # the configuration's `bank:`, seeded afresh
    cfg = write_config(tmp, args, http_port)
    report_path = os.path.join(tmp, "callers.json")
    print(f"ivrd -c {cfg}  ({args.spans * 30} channels, {args.seconds:.0f} s; files in {tmp})", flush=True)
    ivrd = subprocess.Popen([sys.executable, "-m", "ivr.daemon", "-c", cfg], cwd=ROOT)
    try:
        time.sleep(WARMUP_S)
        if ivrd.poll() is not None:
            sys.exit(f"ivrd exited with {ivrd.returncode} at start (see {tmp}/ivrd.log)")
        kids = children(ivrd.pid)
        if len(kids) != 1:
            sys.exit(f"expected one callers' process under ivrd, found {kids}")
        sim = kids[0]
        t0, cpu0, sim0 = time.monotonic(), cpu_seconds(ivrd.pid), cpu_seconds(sim)
        slips0 = (read_report(report_path) or {}).get("slips", 0)     # the start's slips
        late0 = total(metrics(http_port), "ivrd_underruns_total")
        end = t0 + args.seconds - WARMUP_S
        while time.monotonic() < end:
            time.sleep(min(30.0, end - time.monotonic()))
            r = read_report(report_path) or {}
            late = total(metrics(http_port), "ivrd_underruns_total")
            print(f"  {time.monotonic() - t0 + WARMUP_S:6.0f} s: calls {r.get('calls')} completed "
                  f"{r.get('completed')} active {r.get('active')} lost {r.get('lost')} underruns {late:.0f}",
                  flush=True)
        wall = time.monotonic() - t0
        cpu = cpu_seconds(ivrd.pid) - cpu0
        sim_cpu = cpu_seconds(sim) - sim0
        os.kill(sim, signal.SIGUSR1)
        deadline = time.monotonic() + FINISH_TIMEOUT_S
        while time.monotonic() < deadline:
            r = read_report(report_path)
            if r and r.get("finished"):
                break
            time.sleep(1.0)
        m = metrics(http_port)
        rss, sim_rss = peak_rss_mib(ivrd.pid), peak_rss_mib(sim)
        ivrd.send_signal(signal.SIGTERM)
        rc = ivrd.wait(120)
    finally:
        if ivrd.poll() is None:
            ivrd.kill()
            ivrd.wait()
    callers = read_report(report_path)
    rows = _cdr.read(os.path.join(tmp, "cdr.sqlite"))
    missed, extra, wrong = compare_keys(callers["expected_keys"], rows)
    outcomes = {}
    for r in rows:
        outcomes[r["outcome"]] = outcomes.get(r["outcome"], 0) + 1
    lost = sum(callers["lost"].values())
    # A walk ends with the flow's goodbye (hangup) or the caller's (caller_hangup); any other
    # outcome (error, drain_timeout, no_input, ...) is a call that went wrong on the board side.
    bad_outcomes = sum(n for o, n in outcomes.items() if o not in ("hangup", "caller_hangup"))
    underruns = total(m, "ivrd_underruns_total")
    tick_errors = total(m, "ivrd_board_tick_errors_total")
    figures = {
        "seconds": args.seconds, "channels": args.spans * 30, "flow": os.path.relpath(args.flow, ROOT),
        "calls_started": callers["calls"], "calls_completed": callers["completed"],
        "lost_calls": lost, "lost_by_reason": callers["lost"], "seizures_refused": callers["refused"],
        "cdr_records": len(rows), "cdr_outcomes": outcomes, "cdr_bad_outcomes": bad_outcomes,
        "digits_sent": callers["digits_sent"], "digits_reported": sum(len(r["keys"] or "") for r in rows),
        "digits_missed": missed, "digits_extra": extra, "calls_with_wrong_keys": wrong,
        "underruns": underruns, "underruns_after_warmup": underruns - late0, "tick_errors": tick_errors,
        "tick_max_lateness_s": total(m, "ivrd_tick_max_lateness_seconds"),
        "dtmf_rejected_short": total(m, "ivrd_dtmf_rejected_short_total"),
        "latency_samples": callers["latency_samples"], "latency_p50_ms": callers["latency_p50_ms"],
        "latency_p99_ms": callers["latency_p99_ms"], "latency_max_ms": callers["latency_max_ms"],
        "latency_by_step_ms": callers["latency_by_step_ms"], "e1_slips_far_end": callers["slips"],
        "e1_slips_far_end_after_warmup": callers["slips"] - slips0,
        "ivrd_cpu_percent_of_one_core": round(100 * cpu / wall, 1), "ivrd_peak_rss_mib": round(rss, 1),
        "callers_cpu_percent_of_one_core": round(100 * sim_cpu / wall, 1),
        "callers_peak_rss_mib": round(sim_rss, 1), "ivrd_exit": rc,
    }
    for k, v in figures.items():
        print(f"{k:32} {v}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(figures, f, indent=1)
    clean = lost == 0 and bad_outcomes == 0 and missed == 0 and extra == 0 and wrong == 0 and underruns == 0 and tick_errors == 0
    print("RESULT", "clean" if clean else "NOT clean")
    return 0 if clean and rc == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
