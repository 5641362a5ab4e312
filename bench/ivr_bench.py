"""Cost of the flow interpreter with 240 concurrent calls, in real time.

The board (emu://analog, 240 ports) runs in this process; the callers run in another
(`voiceboard linesim` over the virtual cable) and press a key every 2-4 s, so the calls walk
flows/sample.yaml's menus, collects, actions (data fixtures with a delay, as in its test
scenarios), say items and error branches with real DTMF through the receivers. Prompts come
from the real prompt store (espeak-ng, built before the run).

Reported: CPU of the whole board process, of the board's ticks (DSP, cable I/O), and of the
240 call tasks themselves (the interpreter and the channel API code it calls inline), each as a
share of one core; and nodes visited. Target: the call tasks under 10 % of one core.

Usage: python bench/ivr_bench.py [--calls 240] [--seconds 30]
"""
import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
import types

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import drivers  # noqa: E402
from ivr import actions, loader, media  # noqa: E402
from ivr.interpreter import Interpreter  # noqa: E402
from voiceboard import clock  # noqa: E402

FLOW = os.path.join(ROOT, "flows", "sample.yaml")
# Agents' queue number; the simulated exchange has no such subscriber, so a transfer ends
# "failed" (SIT) after its dialling -- the error branch is exercised too.
QUEUES = {"agents": "8001"}
# The data fixtures of flows/examples/sample_test.yaml: the bank answers after a delay.
FIXTURES = {
    "bank.balance": actions.Fixture("bank.balance", {"outcome": "ok", "balance_fen": 1234567}, 2.5),
    "bank.check_pin": actions.Fixture("bank.check_pin", {"outcome": "ok", "ok": True}),
    "log.hangup": actions.Fixture("log.hangup", "ok"),
}


@types.coroutine
def measured(coro, account):
    """Run ``coro``, adding the CPU time of each of its steps to ``account[0]``."""
    value, error = None, None
    while True:
        t0 = time.thread_time()
        try:
            yielded = coro.send(value) if error is None else coro.throw(error)
        except StopIteration as stop:
            account[0] += time.thread_time() - t0
            return stop.value
        account[0] += time.thread_time() - t0
        value, error = None, None
        try:
            value = yield yielded
        except BaseException as exc:        # cancellation and the like go into the coroutine
            error = exc


def write_script(path, calls, seconds, seed):
    rng = np.random.default_rng(seed)
    lines = ["callers:"]
    for n in range(calls):
        lines += [f"  - port: {n}", f"    at: {rng.uniform(0, 3):.2f}", "    steps:"]
        t = 8.0
        while t < seconds - 2:
            gap = rng.uniform(2.0, 4.0)
            keys = rng.choice(["1", "2", "0", "9", "4111111111111111#", "123456", "1", "*"])
            lines += [f"      - wait: {gap:.2f}", f"      - press: {{digits: '{keys}', on_ms: 70, off_ms: 50}}"]
            t += gap + 0.12 * len(keys)
        lines.append("      - hangup")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


async def board_side(url, seconds, stats):
    flow = loader.load(FLOW)
    store = media.prompt_store(FLOW)
    store.build()
    for pid, lang in store.entries():
        store.load(pid, lang)           # into memory before the first call, as ivrd should
    async with drivers.open_board(url) as board:
        tick_cpu = [0.0]
        plain_tick = board.tick

        def timed_tick():
            t0 = time.thread_time()
            plain_tick()
            tick_cpu[0] += time.thread_time() - t0

        board.tick = timed_tick
        call_cpu = [0.0]
        nodes = [0]

        async def agent(ch):
            while True:
                while ch.ring_count < 2:
                    await ch.events.get()
                await ch.answer()
                interp = Interpreter(flow, store.load, sayer=media.sayer, actions=FIXTURES, queues=QUEUES,
                                     recordings_dir=tempfile.gettempdir())
                record = await measured(interp.run(ch), call_cpu)
                nodes[0] += len(record["path"])
                if ch.state.name != "IDLE":
                    await ch.hangup()

        tasks = [asyncio.ensure_future(agent(ch)) for ch in board.channels]
        cpu0, wall0 = time.process_time(), time.monotonic()
        await asyncio.sleep(seconds)
        wall = time.monotonic() - wall0
        stats.update(process=(time.process_time() - cpu0) / wall, tick=tick_cpu[0] / wall,
                     calls=call_cpu[0] / wall, late=board.clock.late_ticks, ticks=board.clock.ticks,
                     errors=board.errors)
        stats["max_late"] = board.clock.max_lateness
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        stats["nodes"] = nodes[0]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--calls", type=int, default=240)
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="vb-ivr-bench-")
    sock, script = os.path.join(tmp, "lines.sock"), os.path.join(tmp, "callers.yaml")
    write_script(script, args.calls, args.seconds, args.seed)
    sim = subprocess.Popen([sys.executable, "-m", "voiceboard", "linesim", "--listen", sock,
                            "--ports", str(args.calls), "--script", script],
                           cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    for _ in range(400):
        if os.path.exists(sock):
            break
        time.sleep(0.05)
    print(f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; {os.cpu_count()} cores; load average "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}; {args.calls} calls, {args.seconds:.0f} s, real time")
    stats = {}
    clock.run(board_side(f"emu://analog?ports={args.calls}&cable={sock}", args.seconds, stats), virtual=False)
    sim.wait(timeout=60)
    print(f"board process CPU     {100 * stats['process']:6.1f} % of one core")
    print(f"  board ticks         {100 * stats['tick']:6.1f} %   (DSP, signalling, cable I/O)")
    print(f"  240 call tasks      {100 * stats['calls']:6.1f} %   (interpreter + channel API calls)")
    print(f"nodes visited {stats['nodes']} in finished calls; late ticks {stats['late']}/{stats['ticks']} "
          f"(largest lateness {1000 * stats['max_late']:.0f} ms); tick errors {stats['errors']}")


if __name__ == "__main__":
    main()
