"""Real-time capacity of the emulated analog board: board + DSP on one core.

For each channel count N: the line simulator runs in another process (`voiceboard linesim`,
the virtual cable), with one caller per line pressing a random key every 1.5-2.5 s. The board
process answers every call and plays a prompt with barge-in on every channel, replaying it
after each key. Paced to the clock for --seconds. Reported per N:

- CPU of the board process (process time / wall time; 100 % = one core) — board, DSP, the
  channel coroutines and the cable's socket I/O; the simulator's CPU is not counted;
- late ticks: ticks started more than 40 ms (2 ticks of buffering) after they were due —
  underruns of a real board's buffers;
- digits: pressed (simulator) against recognised (board), and the latency from the end of
  the 20 ms frame in which the receiver recognised the key to the channel's coroutine
  receiving it (p50 / p99 / max), plus key-down to recognition in media time for reference.

Usage: python bench/board_bench.py [--channels 60,120,240,300] [--seconds 20]
"""
import argparse
import asyncio
import os
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import drivers  # noqa: E402
from voiceboard import clock, dsp  # noqa: E402


def write_script(path, lines, seconds, seed):
    rng = np.random.default_rng(seed)
    out = ["callers:"]
    presses = 0
    for n in range(lines):
        out += [f"  - port: {n}", f"    at: {rng.uniform(0, 2):.2f}", "    max_rings: 3", "    steps:"]
        t = 6.0                                 # rings and answer take ~5.2 s (answer on ring 2)
        out.append("      - wait: 1.0")
        while t < seconds - 5:          # every key is pressed well before the board stops
            gap = rng.uniform(1.5, 2.5)
            out += [f"      - wait: {gap:.2f}", f"      - press: {{digits: '{rng.choice(list('0123456789*#'))}', on_ms: 80, off_ms: 40}}"]
            presses += 1
            t += gap + 0.12
        out.append("      - hangup")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")
    return presses


async def board_side(url, seconds, prompt, stats):
    async with drivers.open_board(url) as board:
        loop = asyncio.get_running_loop()

        async def agent(ch):
            while ch.ring_count < 2:
                await ch.events.get()
            await ch.answer()
            while ch.state.name == "CONNECTED":
                result = await ch.play(prompt, barge_in="0123456789*#")
                if result.reason == "barge_in":
                    stats["digits"] += 1
                    ch.flush_digits()

        async def watch(ch):
            while True:
                ev = await ch.events.get()
                if ev.kind == "digit":
                    # The frame holding the recognition was due at start + (ticks - 1) * 20 ms.
                    due = board.clock._start + ev.time - board.clock.tick_seconds
                    stats["latency"].append(loop.time() - due)

        agents = [asyncio.ensure_future(agent(ch)) for ch in board.channels]
        watchers = [asyncio.ensure_future(watch(ch)) for ch in board.channels]
        cpu0, wall0 = time.process_time(), time.monotonic()
        await asyncio.sleep(seconds)
        stats["cpu"] = (time.process_time() - cpu0) / (time.monotonic() - wall0)
        stats["late"] = board.clock.late_ticks
        stats["ticks"] = board.clock.ticks
        stats["max_lateness"] = board.clock.max_lateness
        stats["errors"] = board.errors
        for task in agents + watchers:
            task.cancel()


def run_one(lines, seconds, seed):
    tmp = tempfile.mkdtemp(prefix="vb-bench-")
    sock, script = os.path.join(tmp, "lines.sock"), os.path.join(tmp, "callers.yaml")
    presses = write_script(script, lines, seconds, seed)
    sim = subprocess.Popen([sys.executable, "-m", "voiceboard", "linesim", "--listen", sock,
                            "--ports", str(lines), "--script", script],
                           cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for _ in range(400):
        if os.path.exists(sock):
            break
        time.sleep(0.05)
    t = np.arange(3 * dsp.SAMPLE_RATE) / dsp.SAMPLE_RATE
    prompt = np.round(3000 * np.sin(2 * np.pi * 440 * t) * (0.6 + 0.4 * np.sin(2 * np.pi * 3 * t))).astype(np.int16)
    stats = {"digits": 0, "latency": []}
    clock.run(board_side(f"emu://analog?ports={lines}&cable={sock}", seconds, prompt, stats), virtual=False)
    out, err = sim.communicate(timeout=60)
    sent = out.count("caller: presses")
    lat = np.array(stats["latency"]) * 1000
    return {
        "lines": lines, "cpu": stats["cpu"], "late": stats["late"], "ticks": stats["ticks"],
        "max_lateness_ms": stats["max_lateness"] * 1000, "pressed": sent, "planned": presses,
        "recognised": stats["digits"], "p50": np.percentile(lat, 50) if lat.size else float("nan"),
        "p99": np.percentile(lat, 99) if lat.size else float("nan"), "max": lat.max() if lat.size else float("nan"),
        "errors": stats["errors"],
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--channels", default="60,120,240,300")
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    print(f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; {os.cpu_count()} cores; "
          f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"{'channels':>8} {'board CPU':>10} {'late ticks':>11} {'max late':>9} {'keys sent':>10} "
          f"{'recognised':>11} {'latency p50/p99/max (ms)':>26}")
    for n in (int(x) for x in args.channels.split(",")):
        print(f"... {n} channels for {args.seconds:.0f} s", file=sys.stderr, flush=True)
        r = run_one(n, args.seconds, args.seed)
        print(f"{r['lines']:>8} {100 * r['cpu']:>9.1f}% {r['late']:>5}/{r['ticks']:<5} {r['max_lateness_ms']:>7.1f}ms "
              f"{r['pressed']:>10} {r['recognised']:>11} {r['p50']:>8.1f} /{r['p99']:>6.1f} /{r['max']:>6.1f}"
              + (f"  ({r['errors']} tick errors)" if r["errors"] else ""), flush=True)
    print(f"peak RSS of this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
