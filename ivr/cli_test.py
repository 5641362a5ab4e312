"""``ivr test FLOW.yaml SCENARIOS.yaml``: run scripted callers against a flow on the emulated
board in virtual time (keys as DTMF audio), check what they heard and what the flow did.

Prints ok/FAIL per scenario, a timeline for each failure, and with --coverage which choices
and no-input/no-match/exhausted branches ran. Exit status 1 if a scenario failed or the flow
has lint errors.
"""
import sys

import drivers
from ivr import media, loader, simulator
from ivr.cli_lint import actions_from
from voiceboard.errors import ConfigError


def register(subparsers):
    p = subparsers.add_parser("test", help="run scenario tests against a flow", description=__doc__.split("\n\n")[0])
    p.add_argument("flow", metavar="FLOW.yaml")
    p.add_argument("scenarios", metavar="SCENARIOS.yaml")
    p.add_argument("--coverage", action="store_true", help="report the branches the scenarios took")
    p.add_argument("--scenario", action="append", metavar="NAME", help="run only this scenario (repeatable)")
    p.add_argument("--actions", metavar="MODULE", action="append", default=[],
                   help="import MODULE (it registers actions); scenario fixtures still override")
    p.add_argument("--audio", choices=("tone", "store"), default="tone",
                   help="prompt audio: tone (a tone per prompt id, as long as its text; default) "
                        "or store (the prompt store, ivr/prompts.py)")
    p.set_defaults(func=run)


def _media(kind, flow_path):
    """(prompt_loader, sayer, tts): tones per prompt id, or the real prompt store."""
    loader_fn = media.prompt_store(flow_path).load if kind == "store" else None
    return loader_fn, media.sayer, None


def run(args, out=None):
    out = out or sys.stdout
    try:
        board = simulator.load_scenarios(args.scenarios).get("board", simulator.DEFAULT_BOARD)
        flow = loader.load(args.flow, capabilities=drivers.open_board(board).capabilities)
    except ConfigError as exc:
        print(f"ivr test: {exc}", file=out)
        return 1
    prompt_loader, sayer, tts = _media(args.audio, args.flow)
    results = simulator.run_file(flow, args.scenarios, prompt_loader=prompt_loader, sayer=sayer, tts=tts,
                                 actions=actions_from(args.actions), only=args.scenario)
    for r in results:
        print(r.report(), file=out)
    failed = sum(not r.ok for r in results)
    print(f"{len(results) - failed} passed, {failed} failed", file=out)
    if args.coverage:
        print(simulator.coverage_report(flow, [r.record for r in results]), file=out)
    return 1 if failed or not results else 0
