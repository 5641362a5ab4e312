"""``ivr lint FLOW.yaml...``: check flows before any caller hears them.

Prints one line per problem (file:line:column: severity: message [code] (hint)) and a summary;
exit status 1 if any flow has errors, 0 otherwise (warnings included).
"""
import importlib
import sys

from ivr import lint
from ivr.actions import REGISTRY


def register(subparsers):
    p = subparsers.add_parser("lint", help="check flow files", description=__doc__.split("\n\n")[0])
    p.add_argument("flows", nargs="+", metavar="FLOW.yaml")
    p.add_argument("--backend", metavar="URL",
                   help="also check features against this board's capabilities (e.g. emu://analog)")
    p.add_argument("--actions", metavar="MODULE", action="append", default=[],
                   help="import MODULE (it registers actions) and check action names and arguments")
    p.add_argument("-q", "--quiet", action="store_true", help="print errors only")
    p.set_defaults(func=run)


def capabilities_of(url):
    import drivers
    return drivers.open_board(url).capabilities


def actions_from(modules):
    """The action registry after importing ``modules``; None when none were named."""
    if not modules:
        return None
    for name in modules:
        importlib.import_module(name)
    return dict(REGISTRY)


def run(args, out=None):
    out = out or sys.stdout
    caps = capabilities_of(args.backend) if args.backend else None
    registry = actions_from(args.actions)
    errors = warnings = 0
    for path in args.flows:
        _, problems = lint.lint_file(path, capabilities=caps, actions=registry)
        for p in problems:
            if p.severity == "error":
                errors += 1
            else:
                warnings += 1
                if args.quiet:
                    continue
            print(p, file=out)
    print(f"{len(args.flows)} flow(s): {errors} error(s), {warnings} warning(s)", file=out)
    return 1 if errors else 0
