"""The ``ivr`` command: tools for flow authors.

Each sub-command lives in a module ``ivr/cli_<name>.py`` that defines ``register(subparsers)``
(adding its parser with ``set_defaults(func=...)``); the names are listed in COMMANDS.
"""
import argparse
import importlib
import sys

from voiceboard.errors import VoiceBoardError

COMMANDS = ["say", "prompts", "lint", "test", "graph"]


def build_parser():
    parser = argparse.ArgumentParser(
        prog="ivr",
        description="Flow author tools of the ivrd IVR runtime: say values, build prompts.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        importlib.import_module(f"ivr.cli_{name}").register(sub)
    return parser


def main(argv=None):
    """Entry point: returns the exit status (0 ok, 1 failure, 2 usage)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args) or 0
    except (VoiceBoardError, OSError, ValueError) as exc:
        # A user mistake or a system error: one line, no traceback.
        print(f"ivr: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
