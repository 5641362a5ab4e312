"""``ivr say``: print how a value is spoken, as text or as the prompt ids that play."""
import argparse

from ivr import say
from voiceboard.errors import ConfigError

EPILOG = """\
examples:
  $ ivr say money 100500.30
  十万零五百元三角
  $ ivr say money 100500.30 --lang en
  one hundred thousand five hundred yuan and thirty fen
  $ ivr say number 110 --prompts
  zh/digits/1 zh/units/hundred zh/digits/1 zh/units/ten
  $ ivr say date 2026-11-25 --weekday
  二零二六年十一月二十五日星期三
  $ ivr say digits 95588
  九五五八八

Types: number (integer or decimal, up to 13 integer digits), digits (0-9 * #), money
(yuan as a decimal, or --fen for integer fen), date (YYYY-MM-DD), time (HH:MM), percent
(2.25 or 2.25%%), rate (a quote; every decimal given is read). Rules: docs/say.md.
"""


def register(subparsers):
    """Add the ``say`` command."""
    parser = subparsers.add_parser("say", help="print how a number, amount, date or time is spoken",
                                   description="Print the spoken form of a value (text, or "
                                               "prompt ids with --prompts).",
                                   epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("type", choices=say.TYPES, metavar="TYPE",
                        help=f"one of: {', '.join(say.TYPES)}")
    parser.add_argument("value", metavar="VALUE", help="the value (a leading '-' needs '--' before it)")
    parser.add_argument("--lang", choices=say.LANGS, default="zh", help="language (default: zh)")
    parser.add_argument("--prompts", action="store_true",
                        help="print the prompt ids that play, space-separated, instead of the text")
    parser.add_argument("--fen", action="store_true", help="money: VALUE is an integer number of fen")
    parser.add_argument("--weekday", action="store_true", help="date: add the day of the week")
    parser.add_argument("--colloquial", action="store_true", help="money (zh): 块/毛 instead of 元/角")
    parser.add_argument("--no-yao", action="store_true", help="digits (zh): read 1 as 一, not 幺")
    parser.set_defaults(func=cmd_say)


# Flags that belong to one type only.
_FLAG_TYPES = {"weekday": "date", "colloquial": "money", "no_yao": "digits", "fen": "money"}


def cmd_say(args):
    for attr, kind in _FLAG_TYPES.items():
        if getattr(args, attr) and args.type != kind:
            raise ConfigError(f"--{attr.replace('_', '-')} applies to the type {kind}, not {args.type}")
    options = {"date": {"weekday": args.weekday}, "money": {"colloquial": args.colloquial},
               "digits": {"yao": not args.no_yao}}.get(args.type, {})
    value = args.value
    if args.fen:
        if not (value.lstrip("-").isascii() and value.lstrip("-").isdigit()):
            raise ConfigError(f"--fen: {value!r} is not an integer number of fen")
        value = int(value)
    said = say.say(args.type, value, args.lang, **options)
    print(" ".join(said.prompts) if args.prompts else said.text)
    return 0
