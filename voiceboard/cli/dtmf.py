"""``voiceboard dtmf detect`` and ``voiceboard dtmf gen``: DTMF digits in and out of audio files."""
import argparse
import json
import math

from voiceboard import audio, dsp

DIAL_CHARS = dsp.DTMF_DIGITS + ","
# Loudest tone allowed: -3 dBm0 is the top of the Q.24 receiver level range (vb/dtmf.h), and
# two tones at -3 dBm0 peak at 2 x 22826 x 10^(-3/20) = 32318, inside 16-bit range
# (0 dBm0 sine peak 22826: telephony.md 1.4), so a generated pair never clips.
MAX_LEVEL_DBM0 = -3.0
# Quietest level accepted: well below every receiver's threshold (-44 to -48 dBm0), enough to
# test rejection; lower levels drown in 16-bit rounding.
MIN_LEVEL_DBM0 = -60.0
MAX_TWIST_DB = 20.0
MAX_MS = 60000

DETECT_EPILOG = """\
Prints the digits found as one line (an empty line when there are none), or with --json one
object per digit: start and end (seconds and 8 kHz sample index), the level of each tone in
dBm0, the twist (low minus high group, dB) and each tone's frequency offset in Hz.

Input: WAV (PCM 8/16/24/32 bit, float, A-law, mu-law, WAVE_FORMAT_EXTENSIBLE) at any common
rate, converted to 8 kHz; the first channel unless --channel says otherwise. --raw reads
headerless 8 kHz 16-bit little-endian mono.

examples:
  voiceboard dtmf detect call.wav
  voiceboard dtmf detect --json --mode strict call.wav
  voiceboard dtmf detect --raw capture.s16
"""

GEN_EPILOG = """\
DIGITS are 0-9 * # A-D, and a comma for a pause. Each tone lasts --on ms and is followed by
--off ms of silence. The file is mono at 8000 samples/s.

examples:
  voiceboard dtmf gen 1234# -o keys.wav
  voiceboard dtmf gen 9,,88 --level -20 --twist 4 --on 40 --off 60 --codec alaw -o weak.wav
"""


def register(subparsers):
    parser = subparsers.add_parser("dtmf", help="detect or generate DTMF digits in audio files",
                                   description="Detect or generate DTMF (touch-tone) digits.")
    sub = parser.add_subparsers(dest="dtmf_command", metavar="ACTION", required=True)

    detect = sub.add_parser("detect", help="print the DTMF digits in an audio file",
                            description="Find the DTMF digits in an audio file.", epilog=DETECT_EPILOG,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    detect.add_argument("file", metavar="FILE", help="WAV file (or raw s16le with --raw)")
    detect.add_argument("--raw", action="store_true", help="FILE is headerless 8 kHz s16le mono")
    detect.add_argument("--json", action="store_true", help="print timing, levels and twist per digit")
    detect.add_argument("--mode", choices=list(dsp.DTMF_MODES), default="normal",
                        help="receiver preset: normal (Q.24), sensitive (weak lines), strict (noisy rooms)")
    detect.add_argument("--channel", default="0", metavar="N",
                        help="channel of a multi-channel WAV, from 0 (default: 0, the left one)")
    detect.set_defaults(func=run_detect)

    gen = sub.add_parser("gen", help="write DTMF digits to a WAV file",
                         description="Write DTMF digits to a WAV file.", epilog=GEN_EPILOG,
                         formatter_class=argparse.RawDescriptionHelpFormatter)
    gen.add_argument("digits", metavar="DIGITS", help="digits to send: 0-9 * # A-D, ',' for a pause")
    gen.add_argument("-o", "--output", required=True, metavar="FILE.wav", help="WAV file to write")
    gen.add_argument("--level", default="-10", metavar="DBM0",
                     help=f"level of each tone in dBm0 (with --twist: of the low-group tone), "
                          f"{MIN_LEVEL_DBM0:g} to {MAX_LEVEL_DBM0:g} (default: -10)")
    gen.add_argument("--twist", default="0", metavar="DB",
                     help="low-group minus high-group level in dB; positive makes the high tone "
                          "weaker (default: 0)")
    gen.add_argument("--on", default="50", metavar="MS", help="tone duration, ms (default: 50)")
    gen.add_argument("--off", default="50", metavar="MS", help="pause after each tone, ms (default: 50)")
    gen.add_argument("--codec", choices=audio.CODECS, default="linear",
                     help="WAV encoding: 16-bit linear, A-law or mu-law (default: linear)")
    gen.set_defaults(func=run_gen)
    register_live(sub)


def _number(option, text):
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{option}: {text!r} is not a number") from None
    if not math.isfinite(value):
        raise ValueError(f"{option}: {text!r} is not a finite number")
    return value


def _whole(option, text, low, high, unit=""):
    try:
        value = int(text)
    except ValueError:
        raise ValueError(f"{option}: {text!r} is not a whole number{' of ' + unit if unit else ''}") from None
    if not low <= value <= high:
        raise ValueError(f"{option}: {value}{' ' + unit if unit else ''} is out of range ({low} to {high})")
    return value


def run_detect(args):
    channel = _whole("--channel", args.channel, 0, 255)
    samples, info = audio.read_audio(args.file, raw=args.raw, channel=channel)
    events = dsp.detect_dtmf(samples, mode=args.mode)
    digits = "".join(e.digit for e in events)
    if not args.json:
        print(digits)
        return 0
    rate = dsp.SAMPLE_RATE
    report = {
        "file": args.file,
        "format": {"encoding": info.encoding, "rate": info.rate, "channels": info.channels,
                   "bits": info.bits, "channel": info.channel, "seconds": round(info.seconds, 6)},
        "mode": args.mode,
        "sample_rate": rate,
        "digits": digits,
        "events": [{"digit": e.digit,
                    "start_s": round(e.start / rate, 6), "end_s": round(e.end / rate, 6),
                    "start_sample": e.start, "end_sample": e.end,
                    "duration_ms": round(e.duration * 1000 / rate, 3),
                    "row_dbm0": e.row_dbm0, "col_dbm0": e.col_dbm0, "twist_db": e.twist_db,
                    "row_offset_hz": e.row_offset_hz, "col_offset_hz": e.col_offset_hz}
                   for e in events],
    }
    print(json.dumps(report, indent=2))
    return 0


def run_gen(args):
    digits = args.digits
    bad = sorted(set(digits) - set(DIAL_CHARS))
    if not digits:
        raise ValueError("DIGITS: empty; give at least one of 0-9 * # A-D")
    if bad:
        raise ValueError(f"DIGITS: {''.join(bad)!r} not allowed in {digits!r} (use 0-9 * # A-D and ',')")
    level = _number("--level", args.level)
    twist = _number("--twist", args.twist)
    if not MIN_LEVEL_DBM0 <= level <= MAX_LEVEL_DBM0:
        raise ValueError(f"--level: {level:g} dBm0 is out of range ({MIN_LEVEL_DBM0:g} to {MAX_LEVEL_DBM0:g})")
    if abs(twist) > MAX_TWIST_DB:
        raise ValueError(f"--twist: {twist:g} dB is out of range ({-MAX_TWIST_DB:g} to {MAX_TWIST_DB:g})")
    if level - twist > MAX_LEVEL_DBM0:
        raise ValueError(f"--twist: {twist:g} dB puts the high-group tone at {level - twist:g} dBm0, above "
                         f"{MAX_LEVEL_DBM0:g} (lower --level)")
    if level - twist < MIN_LEVEL_DBM0:
        raise ValueError(f"--twist: {twist:g} dB puts the high-group tone at {level - twist:g} dBm0, below "
                         f"{MIN_LEVEL_DBM0:g}")
    on_ms = _whole("--on", args.on, 1, MAX_MS, "ms")
    off_ms = _whole("--off", args.off, 0, MAX_MS, "ms")
    samples = dsp.dtmf_samples(digits, level_dbm0=level, twist_db=twist, on_ms=on_ms, off_ms=off_ms)
    audio.write_wav(args.output, samples, args.codec)
    return 0


# --- live: ``dtmf listen`` and ``dtmf send`` on a sound card (voiceboard/cli/sound.py) --------------

SEND_EPILOG = """\
DIGITS, --level, --twist, --on and --off as for "dtmf gen"; the tones are played on the sound
card (see "voiceboard devices") through the sound:// board.

examples:
  voiceboard dtmf send 1234# --device pulse
  voiceboard dtmf send 9 --level -20 --on 40 --off 60
"""


def register_live(sub):
    from voiceboard.cli import sound
    listen = sound.register_dtmf(sub)
    listen.set_defaults(func=sound.run_listen)
    send = sub.add_parser("send", help="play DTMF digits on a sound card",
                          description="Play DTMF digits on a sound card.", epilog=SEND_EPILOG,
                          formatter_class=argparse.RawDescriptionHelpFormatter)
    send.add_argument("digits", metavar="DIGITS", help="digits to send: 0-9 * # A-D, ',' for a pause")
    send.add_argument("--level", default="-10", metavar="DBM0", help="as for dtmf gen (default: -10)")
    send.add_argument("--twist", default="0", metavar="DB", help="as for dtmf gen (default: 0)")
    send.add_argument("--on", default="50", metavar="MS", help="tone duration, ms (default: 50)")
    send.add_argument("--off", default="50", metavar="MS", help="pause after each tone, ms (default: 50)")
    sound.add_device_options(send)
    send.set_defaults(func=run_send, codec="linear")


def run_send(args):
    """Render with ``dtmf gen`` (same checks, same samples) and play the result."""
    import tempfile
    from voiceboard.cli import sound
    with tempfile.TemporaryDirectory() as tmp:
        gen_args = argparse.Namespace(**vars(args))
        gen_args.output = f"{tmp}/digits.wav"
        run_gen(gen_args)
        samples, _ = audio.read_audio(gen_args.output)
    return sound.run_send(args, samples)
