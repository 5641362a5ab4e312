"""``ivr graph FLOW.yaml -o flow.svg``: draw a flow (Graphviz dot if installed, else matplotlib)."""
import sys

from ivr import graph, loader


def register(subparsers):
    p = subparsers.add_parser("graph", help="draw a flow", description=__doc__)
    p.add_argument("flow", metavar="FLOW.yaml")
    p.add_argument("-o", "--output", required=True, metavar="FILE",
                   help="output file: .svg, .png, .pdf, or .dot for the DOT text")
    p.add_argument("--engine", choices=("dot", "matplotlib"), help="default: dot when installed")
    p.set_defaults(func=run)


def run(args, out=None):
    out = out or sys.stdout
    flow, problems = loader.parse(args.flow)
    errors = [p for p in problems if p.severity == "error"]
    if flow is None or errors:
        for p in errors:
            print(p, file=sys.stderr)
        return 1
    used = graph.render(flow, args.output, engine=args.engine)
    print(f"{args.output}: {len(list(flow.all_nodes()))} nodes drawn with {used}", file=out)
    return 0
