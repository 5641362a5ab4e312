"""The ``ivr`` command: tools for flow authors.

Each sub-command lives in a module ``ivr/cli_<name>.py`` that defines ``register(subparsers)``
(adding its parser with ``set_defaults(func=...)``); the names are listed in COMMANDS.
"""
import sys

from voiceboard import cli

COMMANDS = ["say", "prompts", "lint", "test", "graph"]


def main(argv=None):
    """Entry point of ``ivr``: returns the exit status (0 ok, 1 failure, 2 usage)."""
    return cli.run(cli.build_parser("ivr", "Flow author tools of the ivrd IVR runtime: say values, build "
                                    "prompts, lint, test and draw flows.",
                                    [f"ivr.cli_{name}" for name in COMMANDS]), argv)


if __name__ == "__main__":
    sys.exit(main())
