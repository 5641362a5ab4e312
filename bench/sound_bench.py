"""Cost and latency of the sound-card path (drivers/sound.py).

Usage (from the repository root; needs pulseaudio, libportaudio2 and sounddevice):
    /opt/vbdev/bin/python bench/sound_bench.py [--seconds 10] [--rounds 5] [--rate 48000]

Three figures:

1. conversion: the per-tick work the board's loop does for one line at the device rate --
   read a tick of frames from the receive ring, resample it to 8 kHz, resample a tick of
   8 kHz back up, write it to the transmit ring -- timed in a loop without a device
   (dsp.RingBuffer + dsp.Resampler, the same calls drivers/sound.py makes). Microseconds per
   20 ms tick and per-cent of one core, per line, best and median of --rounds.
2. live: the whole process's CPU time (time.process_time: all threads, so the PortAudio
   callback thread and the board's loop) while a sound:// board with 1 and with 2 lines runs
   --seconds in real time on a private PulseAudio null-sink loop (tests/pulse.py), each line
   answered, playing a prompt and detecting DTMF. Per-cent of one core, per line.
3. latency: round trip through the loop (board -> PortAudio -> ALSA pulse plugin -> PulseAudio
   -> monitor -> board), from where a DTMF digit starts in what the board sends to where its
   receiver puts the start of what comes back: median over 16 digits, per round.
"""
import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))
sys.path.insert(0, ROOT)

import numpy as np  # noqa: E402

from pulse import PulseServer  # noqa: E402  (tests/pulse.py, on the path set above)

import drivers  # noqa: E402
from voiceboard import clock, dsp  # noqa: E402

TICK = clock.TICK_SAMPLES


def conversion(rate, ticks, rounds):
    """Microseconds of loop-side work per tick for one line (see the module docstring)."""
    per_tick = rate * TICK // dsp.SAMPLE_RATE
    frames = (np.sin(np.arange(per_tick * 50) * 0.05) * 8000).astype(np.int16)
    results = []
    for _ in range(rounds):
        with dsp.RingBuffer(1 << 16) as rx, dsp.RingBuffer(1 << 16) as tx, \
                dsp.Resampler(rate, dsp.SAMPLE_RATE) as down, dsp.Resampler(dsp.SAMPLE_RATE, rate) as up:
            out = np.zeros(TICK, dtype=np.int16)
            t0 = time.process_time()
            for k in range(ticks):
                rx.write(frames[(k % 50) * per_tick:(k % 50 + 1) * per_tick])   # the callback's side
                got = down.process(rx.read(per_tick, pad=True))
                out[:got.size] = got
                tx.write(up.process(out))
                tx.read(per_tick, pad=True)                                        # the callback's side
            results.append((time.process_time() - t0) / ticks * 1e6)
    return min(results), statistics.median(results)


async def _live(url, seconds):
    async with drivers.open_board(url) as board:
        prompt = dsp.dtmf_samples("0123456789*#ABCD" * 100, level_dbm0=-10.0, on_ms=60, off_ms=60)
        for ch in board.channels:
            await ch.answer()
            board.feed(ch.number, prompt)
        await asyncio.sleep(1.0)                            # settle before timing
        cpu0, wall0 = time.process_time(), time.monotonic()
        await asyncio.sleep(seconds)
        cpu, wall = time.process_time() - cpu0, time.monotonic() - wall0
        digits = sum(board._engine.dtmf_stats(n)["digits"] for n in range(len(board.channels)))
        return cpu / wall * 100, digits, board.stats


async def _latency(url):
    keys = "0123456789*#ABCD"
    on, off = 60, 100
    audio = np.concatenate([np.zeros(4000, np.int16), dsp.dtmf_samples(keys, on_ms=on, off_ms=off)])
    async with drivers.open_board(url) as board:
        await board.channel(0).answer()
        board.tap_start(0)
        board.feed(0, audio)
        await asyncio.sleep(audio.size / dsp.SAMPLE_RATE + board.output_delay + 0.5)
        heard = board.tap_take(0)
    found = dsp.detect_dtmf(heard)
    if "".join(e.digit for e in found) != keys:
        raise SystemExit(f"latency round: heard {''.join(e.digit for e in found)!r}, not {keys!r}")
    sent = [4000 + i * (on + off) * 8 for i in range(len(keys))]
    return statistics.median((e.start - s) / 8 for e, s in zip(found, sent))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=10.0, help="length of each live run")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--rate", type=int, default=48000, help="device rate")
    args = ap.parse_args()
    print(f"# {time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())}, {os.cpu_count()} cores, "
          f"load {os.getloadavg()[0]:.2f}")
    best, median = conversion(args.rate, 5000, args.rounds)
    print(f"conversion at {args.rate} samples/s, per line: {best:.1f} us/tick best, {median:.1f} median "
          f"= {best / 200:.2f} % / {median / 200:.2f} % of one core")
    with tempfile.TemporaryDirectory() as tmp, PulseServer(tmp):
        for lines in (1, 2):
            url = f"sound://pulse?rate={args.rate}&channels={lines}"
            runs = [clock.run(_live(url, args.seconds), virtual=False) for _ in range(max(1, args.rounds // 2))]
            cpu = sorted(r[0] for r in runs)
            st = runs[-1][2]
            print(f"live {url}: process CPU {cpu[0]:.1f} % best, {statistics.median(cpu):.1f} % median of one "
                  f"core ({cpu[0] / lines:.1f} % per line); digits detected {runs[-1][1]}; underruns rx "
                  f"{st['rx_underrun']} tx {st['tx_underrun']}, dropped rx {st['rx_dropped']} tx {st['tx_dropped']}")
        url = f"sound://pulse?rate={args.rate}"
        lat = [clock.run(_latency(url), virtual=False) for _ in range(args.rounds)]
        print(f"round-trip latency {url}: {min(lat):.1f} ms best, {statistics.median(lat):.1f} ms median, "
              f"{max(lat):.1f} ms worst of {len(lat)} rounds")
    print(f"# load {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
