"""``voiceboard call`` (a simulated call, printed as a timeline) and ``voiceboard boards``."""
import argparse
import asyncio
import importlib

from voiceboard import clock
from voiceboard.errors import ConfigError

CALL_EPILOG = """\
The board answers every call after --answer-after rings, plays --prompt (or nothing) with
barge-in on any key, then collects digits until the caller hangs up. The callers come from
the script (see docs/board.md, "Scripted callers"): they ring, press keys as DTMF audio,
listen, and hang up. Virtual time unless --real-time: a minute of calls takes a moment.

examples:
  voiceboard call emu://analog?ports=2 --script docs/examples/caller.yaml
  voiceboard call "emu://analog?ports=1&disconnect=busy" --script call.yaml --real-time
"""


def register(subparsers):
    call = subparsers.add_parser("call", help="run a simulated call and print its timeline",
                                 description="Run scripted callers against a board and print the "
                                             "event timeline (time, channel, event).",
                                 epilog=CALL_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    call.add_argument("url", metavar="URL", help="board URL, e.g. emu://analog?ports=2")
    call.add_argument("--script", required=True, metavar="SCRIPT.yaml", help="scripted callers")
    call.add_argument("--answer-after", type=int, default=2, metavar="RINGS",
                      help="rings before the board answers (default: 2, after the caller ID)")
    call.add_argument("--prompt", metavar="FILE.wav", help="prompt the board plays after answering")
    call.add_argument("--seconds", type=float, default=300.0, metavar="S",
                      help="stop after this much media time (default: 300)")
    call.add_argument("--real-time", action="store_true", help="pace to the clock instead of virtual time")
    call.set_defaults(func=run_call)

    sim = subparsers.add_parser("linesim", help="run the line simulator for a board in another process",
                                description="Run the simulated exchange and its scripted callers in this "
                                            "process, at the far end of a virtual cable (a UNIX socket) "
                                            "that a board opens with emu://analog?cable=PATH.",
                                epilog=LINESIM_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    sim.add_argument("--listen", required=True, metavar="PATH", help="UNIX socket to create (mode 0600)")
    sim.add_argument("--ports", type=int, default=8, metavar="N", help="lines (must match the board; default 8)")
    sim.add_argument("--region", default="cn", metavar="R", help="tone table and ring cadence (default cn)")
    sim.add_argument("--script", metavar="SCRIPT.yaml", help="scripted callers")
    sim.add_argument("--disconnect", default="battery+busy", metavar="KIND",
                     help="how a caller's hangup reaches the board (default battery+busy)")
    sim.set_defaults(func=run_linesim)

    boards = subparsers.add_parser("boards", help="list the board backends and their devices",
                                   description="List the board URL schemes this installation has, "
                                               "and the devices each can open.")
    boards.set_defaults(func=run_boards)


def run_call(args):
    import drivers
    from drivers import scripts

    script = scripts.load(args.script)
    board = drivers.open_board(args.url)
    if not hasattr(board, "exchange"):
        raise ConfigError(f"{args.url}: 'voiceboard call' needs a board with a simulated far end (emu://)")
    if args.answer_after < 1:
        raise ConfigError("--answer-after must be at least 1")
    timeline = clock.run(_call(board, script, args), virtual=not args.real_time)
    for entry in sorted(timeline, key=lambda e: e.time):
        print(entry)
    return 0


async def _call(board, script, args):
    from drivers import scripts

    timeline = []
    async with board:
        prompt = board.load_prompt(args.prompt) if args.prompt else None
        agents = [asyncio.ensure_future(_answer(ch, args.answer_after, prompt, timeline))
                  for ch in board.channels]
        callers = asyncio.ensure_future(scripts.run(board.exchange, script, timeline, lambda: board.media_time))
        try:
            async with asyncio.timeout(args.seconds):
                await callers
            await asyncio.sleep(1.0)        # let the board notice the last hangup
        except TimeoutError:
            timeline.append(scripts.TimelineEntry(board.media_time, -1, f"stopped after {args.seconds} s"))
        for a in agents:
            a.cancel()
    return timeline


async def _answer(ch, rings, prompt, timeline):
    """The board side of ``voiceboard call``: log every event, answer, prompt, collect."""
    from drivers.scripts import TimelineEntry

    def note(what):
        timeline.append(TimelineEntry(ch.board.media_time, ch.number, what))

    async def log_events():
        while True:
            ev = await ch.events.get()
            if ev.kind == "state":
                note(f"state {ev.data[0].name} -> {ev.data[1].name}")
            elif ev.kind == "caller_id":
                note(f"caller ID {ev.data.number or ev.data.number_absent} {ev.data.name or ''}".rstrip())
            else:
                note(ev.kind + ("" if ev.data is None else f" {ev.data}"))
            if ev.kind == "ring" and ev.data >= rings and ch.state.name == "RINGING":
                answering.set()

    answering = asyncio.Event()
    logger = asyncio.ensure_future(log_events())
    try:
        while True:
            await answering.wait()
            answering.clear()
            await ch.answer()
            if prompt is not None:
                await ch.play(prompt, barge_in="0123456789*#ABCD")
            while ch.state.name == "CONNECTED":
                result = await ch.collect(max_digits=32, terminators="", first_timeout=None, inter_timeout=None)
                if result.digits:
                    note(f"collected {result.digits}")
                if result.reason == "hangup":
                    break
    finally:
        logger.cancel()


LINESIM_EPILOG = """\
The simulator keeps the board's time: it answers each tick the board sends, so it runs as
fast as the board, real or virtual. It stops when the board closes the cable, and prints the
callers' timeline.

example (two shells):
  voiceboard linesim --listen /tmp/lines.sock --ports 2 --script docs/examples/caller.yaml
  ivrd ... or a test opening  emu://analog?ports=2&cable=/tmp/lines.sock
"""


def run_linesim(args):
    from drivers import cable, scripts
    from drivers.lines import LineBank
    from drivers.linesim import Exchange

    script = scripts.load(args.script) if args.script else {"callers": []}
    if not 1 <= args.ports <= 256:
        raise ConfigError("--ports must be 1 to 256")

    async def main():
        loop = asyncio.get_running_loop()
        bank = LineBank(args.ports)
        exchange = Exchange(bank, region=args.region, disconnect=args.disconnect)
        timeline = []

        def on_tick():
            loop.advance(exchange.tick_s)
            exchange.tick()

        callers = asyncio.ensure_future(scripts.run(exchange, script, timeline, loop.time))
        try:
            await cable.serve(args.listen, bank, on_tick)
        finally:
            callers.cancel()
            exchange.close()
        return timeline

    for entry in sorted(clock.run(main(), virtual="slaved"), key=lambda e: e.time):
        print(entry)
    return 0


def run_boards(args):
    import drivers

    for scheme in drivers.SCHEMES:
        module = importlib.import_module(f"drivers.{scheme}")
        summary = (module.__doc__ or "").strip().splitlines()[0]
        print(f"{scheme}://  {summary}")
        for line in getattr(module, "list_devices", lambda: [])():
            print(f"    {line}")
    return 0
