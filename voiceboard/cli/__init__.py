"""The ``voiceboard`` developer command.

Each sub-command lives in a module of this package that defines ``register(subparsers)``;
the module names are listed in COMMANDS.
"""
import argparse
import importlib
import sys

from voiceboard.errors import VoiceBoardError

COMMANDS = ["dtmf", "tone", "cid", "board", "e1", "sound", "modem"]


def build_parser(prog, description, modules):
    """An argparse parser whose sub-commands are registered by ``modules`` (module names)."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in modules:
        importlib.import_module(name).register(sub)
    return parser


def run(parser, argv=None):
    """Parse and run one command; returns the exit status (0 ok, 1 failure, 2 usage)."""
    args = parser.parse_args(argv)
    try:
        return args.func(args) or 0
    except (VoiceBoardError, OSError, ValueError) as exc:
        # A user mistake or a system error: one line, no traceback.
        print(f"{parser.prog}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def main(argv=None):
    """Entry point of ``voiceboard``."""
    return run(build_parser("voiceboard",
                            "Developer tools of the voiceboard telephony driver: DTMF, tones, caller ID, "
                            "boards and simulated calls, E1, sound cards, modems.",
                            [f"voiceboard.cli.{name}" for name in COMMANDS]), argv)


if __name__ == "__main__":
    sys.exit(main())
