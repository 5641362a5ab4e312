"""``ivr prompts``: render the prompts of flows and prompt files with espeak-ng."""
import argparse

from ivr import prompts

EPILOG = """\
examples:
  ivr prompts build flows/                  every prompt of every YAML file under flows/
  ivr prompts build flows/bank.yaml --force render again even if the cache is current
  ivr prompts build --recordings audio/ flows/

A prompt file maps ids to texts: 'welcome: {zh: 欢迎致电, en: Welcome}'; a flow file gives
the same mapping under a top-level 'prompts:' key. The built-in prompts of 'ivr say' are
built too unless --no-say. A prompt recorded as <recordings>/<lang>/<id>.wav is not rendered.
Renderings are cached by a hash of text, voice and espeak-ng version: unchanged prompts are
skipped. See docs/say.md.
"""


def register(subparsers):
    """Add the ``prompts`` command and its ``build`` action."""
    parser = subparsers.add_parser("prompts", help="render prompt texts to 8 kHz audio (espeak-ng)",
                                   description="Prompt store tools.")
    sub = parser.add_subparsers(dest="prompts_command", metavar="ACTION", required=True)
    build = sub.add_parser("build", help="render every prompt of flows / prompt files",
                           description="Render the prompts that have no recording and no current "
                                       "cached rendering.",
                           epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    build.add_argument("paths", nargs="*", metavar="FLOW_OR_DIR",
                       help="prompt files, flow files or directories of them")
    build.add_argument("--force", action="store_true", help="render even unchanged prompts")
    build.add_argument("--no-say", action="store_true", help="leave out the built-in prompts of ivr say")
    build.add_argument("--lang", action="append", choices=prompts.LANGS,
                       help="only this language (repeatable; default: all)")
    build.add_argument("--recordings", action="append", default=[], metavar="DIR",
                       help="directory of recordings <lang>/<id>.wav (repeatable)")
    build.add_argument("--cache", metavar="DIR",
                       help="cache directory (default: $IVR_PROMPT_CACHE or ~/.cache/ivr/prompts)")
    build.set_defaults(func=cmd_build)


def cmd_build(args):
    store = prompts.PromptStore(args.paths, args.recordings, args.cache, builtin=not args.no_say)
    entries = store.entries(args.lang or prompts.LANGS)
    stats = store.build(entries, force=args.force)
    print(f"{stats.total} prompts: {stats.rendered} rendered, {stats.unchanged} unchanged, "
          f"{stats.recorded} recorded (cache {store.cache_dir})")
    return 0
