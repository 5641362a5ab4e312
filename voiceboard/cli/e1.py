"""``voiceboard e1 status|monitor|capture``: the emulated E1 board and its simulated exchange,
for looking at framing, alarms, counters and signalling bits."""
import argparse
import asyncio
import json
import sys

import numpy as np

from voiceboard import clock, dsp
from voiceboard.errors import ConfigError

MAX_FRAMES = 8000 * 3600            # an hour of one direction: 115 MB
FAULTS = ("none", "los", "ais", "rai", "ber")
DEFAULT_SCRIPT = "call 8001 13800138000; answer; wait 0.5; press 1234; wait 0.5; clear"
STEP_ARGS = {"call": (1, 3), "answer": (0, 0), "wait": (1, 1), "press": (1, 1), "play": (2, 2),
             "clear": (0, 0), "clearback": (0, 0)}

CAPTURE_EPILOG = """\
The file holds raw frames, 32 octets each (TS0 first, bit 1 of each octet its most
significant bit), 8000 frames per second, no header: see docs/e1.md.

SCRIPT is a list of steps separated by ";", run on channel 1 of span 0:
  call DNIS [ANI]   the exchange seizes the channel and sends DNIS and ANI by MFC-R2
  answer            the board answers          wait S   let S seconds pass
  press DIGITS      the caller presses keys    play HZ S   the board plays a tone
  clear             the caller hangs up (clear-forward)
  clearback         the board hangs up (clear-back)
default: "%s"

examples:
  voiceboard e1 capture --frames 80000 -o call.e1
  voiceboard e1 capture --frames 8000 --side board --script "call 95555 021; answer; clearback" -o b.e1
""" % DEFAULT_SCRIPT


def register(subparsers):
    parser = subparsers.add_parser("e1", help="emulated E1 spans: status, ABCD monitor, frame capture",
                                   description="Run the emulated E1 board against its simulated exchange.")
    sub = parser.add_subparsers(dest="e1_command", metavar="ACTION", required=True)

    st = sub.add_parser("status", help="alignment, alarms and counters of a demonstration span pair",
                        description="Bring up a demonstration board and exchange (virtual time) and "
                                    "print each span's alignment, alarms and counters.")
    st.add_argument("--spans", default="1", metavar="N", help="spans (1-8, default 1)")
    st.add_argument("--seconds", default="2", metavar="S", help="time to run first (default 2)")
    st.add_argument("--fault", choices=FAULTS, default="none",
                    help="fault the exchange puts on span 0 for the last half of the run")
    st.add_argument("--json", action="store_true", help="one JSON object per span")
    st.set_defaults(func=run_status)

    mon = sub.add_parser("monitor", help="live ABCD bits per channel",
                         description="Run a demonstration board in real time with calls coming in, "
                                     "and print every change of a channel's ABCD bits.")
    mon.add_argument("--seconds", metavar="S", help="stop after S seconds (default: Ctrl-C)")
    mon.add_argument("--variant", choices=("china", "itu"), default="china")
    mon.set_defaults(func=run_monitor)

    cap = sub.add_parser("capture", help="write a span's frames to a file during a demonstration call",
                         description="Write the raw frames one direction of span 0 carries while a "
                                     "demonstration call runs (virtual time).",
                         epilog=CAPTURE_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    cap.add_argument("--frames", required=True, metavar="N", help="frames to write (8000 per second)")
    cap.add_argument("-o", "--output", required=True, metavar="FILE", help="file to write")
    cap.add_argument("--side", choices=("exchange", "board"), default="exchange",
                     help="whose transmit direction: the exchange's (forward signals) or the board's")
    cap.add_argument("--script", default=DEFAULT_SCRIPT, metavar="SCRIPT", help="the call (see below)")
    cap.set_defaults(func=run_capture)


def _number(option, text, low, high, kind=float):
    try:
        value = kind(text)
    except ValueError:
        raise ConfigError(f"{option}: {text!r} is not a number") from None
    if not low <= value <= high:
        raise ConfigError(f"{option}: {text} is out of range ({low} to {high})")
    return value


def parse_script(text):
    """[(step, [args])] of a capture script; ConfigError naming the bad step."""
    steps = []
    for n, part in enumerate(p.strip() for p in text.split(";")):
        if not part:
            continue
        name, *args = part.split()
        if name not in STEP_ARGS:
            raise ConfigError(f"--script step {n + 1}: unknown step {name!r} (known: {', '.join(STEP_ARGS)})")
        low, high = STEP_ARGS[name]
        if not low <= len(args) <= high:
            raise ConfigError(f"--script step {n + 1}: {name} takes {low} to {high} arguments")
        if name in ("call",) and not all(a.isdigit() for a in args):
            raise ConfigError(f"--script step {n + 1}: DNIS and ANI are digits 0-9")
        if name == "press" and set(args[0]) - set(dsp.DTMF_DIGITS):
            raise ConfigError(f"--script step {n + 1}: {args[0]!r} are not DTMF digits")
        if name in ("wait", "play"):
            for a in args:
                _number(f"--script step {n + 1}", a, 0, 3600)
        steps.append((name, args))
    return steps


def _open(url):
    import drivers
    return drivers.open_board(url)


# --- status ---------------------------------------------------------------------------------------

def run_status(args):
    spans = _number("--spans", args.spans, 1, 8, int)
    seconds = _number("--seconds", args.seconds, 0.1, 3600)

    async def main():
        async with _open(f"emu://e1?spans={spans}") as board:
            await asyncio.sleep(seconds / 2)
            ex = board.exchange
            if args.fault in ("los", "ais"):
                setattr(ex.faults[0], args.fault, True)
            elif args.fault == "rai":
                ex.set_rai(0, True)
            elif args.fault == "ber":
                ex.faults[0].ber = 1e-5
            await asyncio.sleep(seconds / 2)
            return [board.span_status(s) for s in range(spans)]

    for st in clock.run(main()):
        if args.json:
            print(json.dumps(st))
            continue
        align = ", ".join(name for name, key in (("frame", "frame_aligned"), ("CRC-4 multiframe", "crc4_aligned"),
                                                 ("CAS multiframe", "cas_aligned")) if st[key]) or "none"
        print(f"span {st['span']}: {'in service' if st['in_service'] else 'OUT OF SERVICE'}")
        print(f"  aligned: {align}{' (CRC-4 interworking)' if st['interworking'] else ''}")
        print(f"  alarms: {', '.join(a.upper() for a in st['alarms']) or 'none'}")
        print(f"  frames {st['frames']}  FAS errors {st['fas_errors']}  CRC blocks {st['crc_blocks']}  "
              f"CRC errors {st['crc_errors']}  E-bit errors {st['ebit_errors']}  slips {st['slips']}  "
              f"frame losses {st['frame_losses']}")
    return 0


# --- monitor --------------------------------------------------------------------------------------

def _abcd(v):
    return format(v, "04b") if v else "----"


def run_monitor(args):
    seconds = None if args.seconds is None else _number("--seconds", args.seconds, 0.1, 86400)

    async def calls(board):
        """Calls to channels 1, 2, 3 in turn: set-up, answer, a few digits, clear."""
        n = 0
        while True:
            c = n % 3
            ch, port = board.channel(c), board.exchange.ports[c]
            while ch.state.name != "IDLE":
                await asyncio.sleep(0.1)
            call = asyncio.ensure_future(port.call(f"80{c:02d}", "13800138000"))
            while ch.state.name != "RINGING" and not call.done():
                await asyncio.sleep(0.02)
            if call.done() and call.result() == "blocked":
                await asyncio.sleep(0.1)            # the span is not up yet: try again
                continue
            if ch.state.name == "RINGING":
                await ch.answer()
                await call
                await port.press("1234")
                await (port.hangup() if n % 2 else ch.hangup())
                await port.wait_idle(10)
            n += 1

    async def main():
        async with _open(f"emu://e1?variant={args.variant}&max_dnis=4") as board:
            last = {}
            task = asyncio.ensure_future(calls(board))
            loop = asyncio.get_running_loop()
            end = None if seconds is None else loop.time() + seconds
            try:
                print("time_s  span ch  rx    tx    state")
                while end is None or loop.time() < end:
                    await asyncio.sleep(0.02)
                    st = board.span_status(0)
                    for c in range(30):
                        now = (st["abcd_rx"][c], st["abcd_tx"][c])
                        if last.get(c) != now:
                            last[c] = now
                            print(f"{board.media_time:6.2f}  0    {c + 1:2d}  {_abcd(now[0])}  {_abcd(now[1])}  "
                                  f"{board.channel(c).state.value}", flush=True)
            finally:
                task.cancel()
    try:
        clock.run(main(), virtual=False)
    except KeyboardInterrupt:
        pass
    return 0


# --- capture --------------------------------------------------------------------------------------

class _Tee:
    """A frame pipe that also keeps what is written into it (up to ``limit`` octets)."""

    def __init__(self, pipe, limit):
        self.pipe = pipe
        self.limit = limit
        self.octets = bytearray()

    def write(self, octets):
        if len(self.octets) < self.limit:
            self.octets += np.asarray(octets, dtype=np.uint8).tobytes()[:self.limit - len(self.octets)]
        self.pipe.write(octets)

    def read(self, frames):
        return self.pipe.read(frames)

    def __getattr__(self, name):
        return getattr(self.pipe, name)


def run_capture(args):
    frames = _number("--frames", args.frames, 1, MAX_FRAMES, int)
    steps = parse_script(args.script)
    limit = frames * dsp.E1_TIMESLOTS

    async def main():
        # The pipes exist once the board is open; one is wrapped before the first tick runs.
        async with _open("emu://e1") as board:
            to_board, from_board = board.links[0]
            if args.side == "exchange":
                tee = _Tee(to_board, limit)
                board.links[0] = (tee, from_board)
                board.exchange.links[0] = (tee, from_board)
            else:
                tee = _Tee(from_board, limit)
                board.links[0] = (to_board, tee)
                board.exchange.links[0] = (to_board, tee)
            await asyncio.sleep(1.3)            # alignment, then the span comes into service
            await _script(board, steps)
            while len(tee.octets) < limit:
                await asyncio.sleep(0.1)
        return bytes(tee.octets)

    data = clock.run(main())
    with open(args.output, "wb") as f:
        f.write(data)
    print(f"{len(data) // dsp.E1_TIMESLOTS} frames ({len(data) / dsp.E1_TIMESLOTS / 8000:.3f} s) of the "
          f"{args.side}'s transmit direction written to {args.output}", file=sys.stderr)
    return 0


async def _script(board, steps):
    ch, port = board.channel(0), board.exchange.ports[0]
    call = None
    for name, a in steps:
        if name == "call":
            call = asyncio.ensure_future(port.call(a[0], a[1] if len(a) > 1 else ""))
            while ch.state.name != "RINGING" and not call.done():
                await asyncio.sleep(0.02)
        elif name == "answer":
            if ch.state.name == "RINGING":
                await ch.answer()
                await call
        elif name == "wait":
            await asyncio.sleep(float(a[0]))
        elif name == "press":
            if port.state.value == "connected":
                await port.press(a[0])
        elif name == "play":
            if ch.state.name == "CONNECTED":
                n = int(float(a[1]) * dsp.SAMPLE_RATE)
                t = np.arange(n) / dsp.SAMPLE_RATE
                await ch.play(np.round(16141 * np.sqrt(2) * 10 ** (-12 / 20)
                                       * np.sin(2 * np.pi * float(a[0]) * t)).astype(np.int16))
        elif name == "clear":
            await port.hangup()
            await port.wait_idle(10)
        elif name == "clearback":
            if ch.state.name in ("RINGING", "CONNECTED"):
                await ch.hangup()
            await port.wait_idle(10)
