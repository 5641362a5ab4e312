"""E1 benchmark: N spans (default 8 = 240 channels) of the emulated E1 board back to back with
the simulated exchange, in real time, every channel in a call.

Each call is set up by R2 signalling (seize, MFC-R2 DNIS/KA/ANI/KD, answer); then the board
plays a prompt on every channel and every caller talks (a tone into the bearer) while the
board's DTMF receivers listen. Over the measuring window the script reports the CPU time of
the process (board + exchange), the board's own share (CPU time of its tick without the
exchange's, by time.thread_time), the frame slips of every pipe and the media clock's late ticks.

Run from the repository root:  /opt/vbdev/bin/python bench/e1_bench.py [--spans 8] [--seconds 30]
"""
import argparse
import asyncio
import os
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import drivers  # noqa: E402  (found through the path set just above)
from voiceboard import clock  # noqa: E402
from voiceboard.states import ChannelState  # noqa: E402


def tone(seconds, hz, dbm0):
    t = np.arange(int(seconds * 8000)) / 8000
    return np.round(16141 * np.sqrt(2) * 10 ** (dbm0 / 20) * np.sin(2 * np.pi * hz * t)).astype(np.int16)


async def bench(spans, seconds, link):
    board = drivers.open_board(f"emu://e1?spans={spans}&max_dnis=4&link={link}")
    async with board:
        ex = board.exchange
        spent = {"exchange": 0.0}
        inner = ex.tick

        def timed_tick(now):
            t0 = time.thread_time()
            inner(now)
            spent["exchange"] += time.thread_time() - t0
        ex.tick = timed_tick
        board_spent = [0.0]
        board_tick = board.tick

        def timed_board_tick():
            t0 = time.thread_time()
            board_tick()
            board_spent[0] += time.thread_time() - t0
        board.tick = timed_board_tick

        while any(ch.state is not ChannelState.IDLE for ch in board.channels):
            await asyncio.sleep(0.1)
        await asyncio.sleep(0.2)            # the exchange sees the channels unblocked (ABCD debounce)
        t_setup = time.monotonic()
        calls = [asyncio.ensure_future(port.call(f"8{n % 1000:03d}", f"1380013{n:04d}")) for n, port in
                 enumerate(ex.ports)]

        async def answer_all():
            while not all(c.done() for c in calls):
                for ch in board.channels:
                    if ch.state is ChannelState.RINGING:
                        await ch.answer()
                await asyncio.sleep(0.02)
        async with asyncio.timeout(120):
            await answer_all()
        results = [c.result() for c in calls]
        setup_s = time.monotonic() - t_setup
        assert all(r is True for r in results), results
        prompt = tone(seconds + 10, 600.0, -15.0)
        talk = tone(seconds + 10, 350.0, -20.0)
        plays = [asyncio.ensure_future(ch.play(prompt)) for ch in board.channels]
        sends = [asyncio.ensure_future(port.send(talk)) for port in ex.ports]
        await asyncio.sleep(1.0)

        # Measuring window.
        slips0 = sum(p.slips for pair in board.links for p in pair)
        late0 = board.clock.late_ticks
        board.clock.max_lateness = 0.0      # the set-up's lateness is not the window's
        spent["exchange"] = 0.0
        board_spent[0] = 0.0
        cpu0, wall0 = time.process_time(), time.monotonic()
        await asyncio.sleep(seconds)
        cpu, wall = time.process_time() - cpu0, time.monotonic() - wall0
        slips = sum(p.slips for pair in board.links for p in pair) - slips0
        late = board.clock.late_ticks - late0
        connected = sum(ch.state is ChannelState.CONNECTED for ch in board.channels)
        crc = sum(board.span_status(s)["crc_errors"] for s in range(spans))
        for t in plays + sends:
            t.cancel()
        board_only = board_spent[0] - spent["exchange"]
        return dict(channels=len(board.channels), setup_s=setup_s, wall=wall, cpu=cpu,
                    board=board_only, exchange=spent["exchange"], slips=slips, late=late,
                    max_late_ms=board.clock.max_lateness * 1000, connected=connected, crc=crc)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--spans", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--link", choices=("pipe", "socket"), default="pipe")
    args = parser.parse_args()
    r = clock.run(bench(args.spans, args.seconds, args.link), virtual=False)
    load = " ".join(f"{v:.2f}" for v in os.getloadavg())
    print(f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; {os.cpu_count()} cores; load average {load}")
    print(f"spans {args.spans} ({r['channels']} channels), link {args.link}: all calls set up by R2 "
          f"in {r['setup_s']:.1f} s; {r['connected']} connected through the window")
    print(f"window {r['wall']:.1f} s: process CPU {100 * r['cpu'] / r['wall']:.1f} % of one core "
          f"(board {100 * r['board'] / r['wall']:.1f} %, simulated exchange {100 * r['exchange'] / r['wall']:.1f} %)")
    print(f"slips {r['slips']}, late ticks {r['late']} (max lateness {r['max_late_ms']:.1f} ms), "
          f"CRC-4 errors {r['crc']}")


if __name__ == "__main__":
    main()
