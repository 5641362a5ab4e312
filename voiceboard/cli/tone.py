"""``voiceboard tone gen`` and ``voiceboard tone list``: call-progress tones of a region."""
import argparse
import math

from voiceboard import dsp, tones
from voiceboard.audio import write_wav

CODECS = ("linear", "alaw", "ulaw")
# Loudest level accepted: +3.14 dBm0 is the largest sine A-law carries (telephony.md 1.4);
# a pair at that level would clip, which the generator rejects with its own message.
MAX_LEVEL_DBM0 = 3.0
# Quietest level: far below every detector threshold (cpd.c -44 dBm0), enough to test rejection.
MIN_LEVEL_DBM0 = -60.0
# An hour: longer than any test signal or on-hold loop needs.
MAX_SECONDS = 3600.0

GEN_EPILOG = """\
NAME is a tone of the region's table (see "voiceboard tone list"): dial, busy, ringback,
congestion, sit, call_waiting, record. The file is mono at 8000 samples/s; a tone that plays
once is followed by silence up to --seconds.

examples:
  voiceboard tone gen busy -o busy.wav
  voiceboard tone gen ringback --region us --seconds 12 --codec ulaw -o ring.wav
"""


def register(subparsers):
    parser = subparsers.add_parser("tone", help="generate or list call-progress tones",
                                   description="Generate or list the call-progress tones of a region.")
    sub = parser.add_subparsers(dest="tone_command", metavar="ACTION", required=True)

    gen = sub.add_parser("gen", help="write a call-progress tone to a WAV file",
                         description="Write a call-progress tone to a WAV file.", epilog=GEN_EPILOG,
                         formatter_class=argparse.RawDescriptionHelpFormatter)
    gen.add_argument("name", metavar="NAME", help="tone name, e.g. dial, busy, ringback")
    gen.add_argument("--region", default=tones.default_region(), metavar="R",
                     help=f"region of the tone table: {', '.join(tones.region_names())} "
                          f"(default: {tones.default_region()})")
    gen.add_argument("-o", "--output", required=True, metavar="FILE.wav", help="WAV file to write")
    gen.add_argument("--seconds", default="5", metavar="S", help="length of the file (default: 5)")
    gen.add_argument("--level", metavar="DBM0",
                     help="level of each frequency in dBm0 (default: the region's table)")
    gen.add_argument("--codec", choices=CODECS, default="linear",
                     help="WAV encoding: 16-bit linear, A-law or mu-law (default: linear)")
    gen.set_defaults(func=run_gen)

    lst = sub.add_parser("list", help="print the tone tables",
                         description="Print each region's tones in the notation of telephony.md 4.1.")
    lst.add_argument("--region", metavar="R", help="only this region")
    lst.set_defaults(func=run_list)


def _number(option, text, low, high):
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{option}: not a number: {text!r}") from None
    if not (math.isfinite(value) and low <= value <= high):
        raise ValueError(f"{option}: {text} is outside {low:g} to {high:g}")
    return value


def run_gen(args):
    seconds = _number("--seconds", args.seconds, 0.0, MAX_SECONDS)
    level = None if args.level is None else _number("--level", args.level, MIN_LEVEL_DBM0, MAX_LEVEL_DBM0)
    samples = dsp.tone_samples(args.name, region=args.region, seconds=seconds, level_dbm0=level)
    write_wav(args.output, samples, args.codec)
    return 0


def run_list(args):
    names = tones.region_names() if args.region is None else [tones.region(args.region).name]
    for i, name in enumerate(names):
        region = tones.region(name)
        default = " (default)" if name == tones.default_region() else ""
        if i:
            print()
        print(f"{name}  {region.description}{default}")
        width = max(len(t) for t in region.tones)
        for tone in region.tones.values():
            detail = f"  [detector: {tone.cycles} cycles]" if tone.cycles > 1 else ""
            print(f"  {tone.name:<{width}}  {tone.spec}{detail}")
        cadence = ",".join(str(ms) for ms in region.ring_cadence_ms)
        print(f"  {'ringing':<{width}}  {region.ring_hz:g} Hz, cadence {cadence} ms")
        print(f"  {'dtmf':<{width}}  low group {region.dtmf_low_dbm0:g} dBm0, high group {region.dtmf_high_dbm0:g} dBm0")
    return 0
