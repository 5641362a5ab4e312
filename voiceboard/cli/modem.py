"""``voiceboard modem-emulator``: a voice modem on a pty, for trying the modem board by hand."""
import argparse
import asyncio
import signal
import sys

EPILOG = """\
The emulator prints the path of its pseudo-terminal and runs until Ctrl-C. Open it like a
real modem, e.g. with ivrd or a test program on the board URL modem://PATH, or by hand:

  voiceboard modem-emulator --profile usr --link /tmp/ttyMODEM &
  python -m serial.tools.miniterm /tmp/ttyMODEM 115200    # type ATI0, AT+VSM=?

With --call the emulated line rings (caller ID after the first RING when AT+VCID is on);
once answered, the caller presses --keys as DLE reports, then hangs up (DLE l).
"""


def register(subparsers):
    parser = subparsers.add_parser("modem-emulator", help="run a voice modem emulator on a pty",
                                   description="Emulate a V.253 voice modem (Conexant or USR dialect) "
                                               "on a pseudo-terminal.",
                                   epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", default="conexant", choices=("conexant", "usr"),
                        help="chipset dialect (default: conexant)")
    parser.add_argument("--link", metavar="PATH", help="also make PATH a symlink to the pty")
    parser.add_argument("--ring-period", default="5", metavar="S",
                        help="seconds from one RING to the next (default: 5, China 1 s on + 4 s off)")
    parser.add_argument("--call", metavar="NUMBER", help="ring once started, with this caller ID number")
    parser.add_argument("--keys", default="", metavar="DIGITS", help="keys the caller presses after the answer")
    parser.set_defaults(func=run)


def run(args):
    from drivers.modem_emulator import ModemEmulator
    from voiceboard import callerid

    try:
        ring_period = float(args.ring_period)
    except ValueError:
        raise ValueError(f"--ring-period: not a number: {args.ring_period!r}") from None
    if not 0.1 <= ring_period <= 60:
        raise ValueError(f"--ring-period: {args.ring_period} is outside 0.1 to 60")
    try:
        cid = None if args.call is None else callerid.CallerId(number=args.call)
    except ValueError as exc:
        raise ValueError(f"--call: {exc}") from None
    if args.keys:
        bad = [k for k in args.keys if k.upper() not in "0123456789*#ABCD"]
        if bad:
            raise ValueError(f"--keys: {bad[0]!r} is not a DTMF digit")
    with ModemEmulator(args.profile, link=args.link, ring_period=ring_period) as emu:
        print(emu.port, flush=True)
        asyncio.run(_serve(emu, cid, args.keys, args.call is not None))
    return 0


async def _serve(emu, cid, keys, call):
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    if call:
        async def caller():
            if await emu.call(cid):
                await asyncio.sleep(1.0)
                if keys:
                    await emu.press(keys, inband=False)
                await asyncio.sleep(1.0)
                await emu.hangup("l")
        task = asyncio.ensure_future(caller())
    await stop.wait()
    if call:
        task.cancel()
    print("modem emulator stopped", file=sys.stderr)
