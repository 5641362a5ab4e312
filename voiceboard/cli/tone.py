"""``voiceboard tone gen`` and ``voiceboard tone list``: call-progress tones of a region."""
import argparse
import math
import struct
import wave

from voiceboard import dsp, tones

CODECS = ("linear", "alaw", "ulaw")
# WAVE format tags (RFC 2361): 6 = ITU G.711 A-law, 7 = ITU G.711 mu-law.
_G711_TAGS = {"alaw": 6, "ulaw": 7}
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


def write_wav(path, samples, codec="linear"):
    """Write 8 kHz mono int16 samples as a WAV file: 16-bit PCM, or G.711 A-law / mu-law."""
    if codec == "linear":
        # Opened here, not by wave.open(path): a bad path then fails before wave's own cleanup.
        with open(path, "wb") as f, wave.open(f, "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(dsp.SAMPLE_RATE)
            w.writeframes(samples.astype("<i2").tobytes())
        return
    data = (dsp.lin2alaw if codec == "alaw" else dsp.lin2ulaw)(samples).tobytes()
    # A non-PCM format needs the cbSize field (fmt chunk of 18 bytes) and a fact chunk with the
    # sample count (Microsoft RIFF WAVE specification).
    fmt = struct.pack("<HHIIHHH", _G711_TAGS[codec], 1, dsp.SAMPLE_RATE, dsp.SAMPLE_RATE, 1, 8, 0)
    fact = struct.pack("<I", len(data))
    pad = b"\0" if len(data) % 2 else b""
    body = (b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"fact" + struct.pack("<I", 4) + fact
            + b"data" + struct.pack("<I", len(data)) + data + pad)
    with open(path, "wb") as f:
        f.write(b"RIFF" + struct.pack("<I", len(body)) + body)


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
