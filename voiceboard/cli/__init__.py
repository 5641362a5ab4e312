"""The ``voiceboard`` developer command.

Each sub-command lives in a module of this package that defines ``register(subparsers)``;
the module names are listed in COMMANDS.
"""
import argparse
import importlib
import sys

from voiceboard.errors import VoiceBoardError

COMMANDS = ["dtmf", "tone", "cid", "board", "e1", "sound", "modem"]


def build_parser():
    parser = argparse.ArgumentParser(
        prog="voiceboard",
        description="Developer tools of the voiceboard telephony driver: DTMF, tones, G.711.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        importlib.import_module(f"voiceboard.cli.{name}").register(sub)
    return parser


def main(argv=None):
    """Entry point: returns the exit status (0 ok, 1 failure, 2 usage)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args) or 0
    except (VoiceBoardError, OSError, ValueError) as exc:
        # A user mistake or a system error: one line, no traceback.
        print(f"voiceboard: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
