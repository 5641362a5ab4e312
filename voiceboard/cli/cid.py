"""``voiceboard cid``: generate and decode caller-ID (on-hook data) signals."""
import argparse
import codecs
import json
import wave

import numpy as np

from voiceboard import callerid, dsp
from voiceboard.errors import AudioFormatError, ConfigError, VoiceBoardError

GEN_EPILOG = """\
examples:
  voiceboard cid gen --number 2156430144 --name "ZHANG SAN" --date 03171656 -o cid.wav
  voiceboard cid gen --number 2156430144 --date 03171656 --format sdmf --mode v23 -o uk.wav
  voiceboard cid gen --number 2156430144 --mode dtmf -o dtmf.wav
  voiceboard cid gen --absent P -o private.wav

The file holds the data signal sent between the first and the second ring: channel seizure
(300 bits 0101...), 180 mark bits, the message, 60 mark bits (FSK), or A<number>C in DTMF
(70 ms on / 70 ms off). 8 kHz 16-bit mono WAV.
"""

DECODE_EPILOG = """\
example:
  $ voiceboard cid decode cid.wav
  {"number": "2156430144", "name": "ZHANG SAN", "date": "03171656", "format": "mdmf",
   "mode": "bell202", "checksum_ok": true, "number_absent": null, "name_absent": null}

Bell 202, V.23 and DTMF caller ID are all recognised. The file must be an 8 kHz 16-bit mono
WAV. checksum_ok is null for DTMF caller ID, which has no checksum.
"""


def register(subparsers):
    """Add the ``cid`` command and its ``gen`` and ``decode`` sub-commands."""
    parser = subparsers.add_parser("cid", help="generate or decode caller ID (FSK Bell 202/V.23, DTMF)",
                                   description="Caller ID on analog lines (GR-30 / ETSI / DTMF).")
    sub = parser.add_subparsers(dest="cid_command", metavar="ACTION", required=True)

    gen = sub.add_parser("gen", help="write the on-hook caller-ID signal to a WAV file",
                         description="Write the caller-ID data signal heard between rings.",
                         epilog=GEN_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    who = gen.add_mutually_exclusive_group(required=True)
    who.add_argument("--number", help="calling number, digits 0-9")
    who.add_argument("--absent", choices=callerid.ABSENCE_REASONS,
                     help="send no number: O = unavailable, P = private")
    gen.add_argument("--name", help="calling name (MDMF only)")
    gen.add_argument("--date", help="date and time as MMDDHHMM (needed by SDMF)")
    gen.add_argument("--format", choices=("mdmf", "sdmf"), default="mdmf",
                     help="FSK message format (default: mdmf)")
    gen.add_argument("--mode", choices=callerid.MODES, default="bell202",
                     help="Bell 202 (US, China), V.23 (ETSI) or DTMF (default: bell202)")
    gen.add_argument("--level", type=float, default=-14.0, metavar="DBM0",
                     help="signal level in dBm0, per tone for DTMF (default: -14)")
    gen.add_argument("--encoding", default="ascii",
                     help="encoding of the name: ascii (default) or gbk (China, unconfirmed)")
    gen.add_argument("-o", "--output", required=True, metavar="FILE.wav", help="WAV file to write")
    gen.set_defaults(func=cmd_gen)

    dec = sub.add_parser("decode", help="find a caller ID in a WAV file and print it as JSON",
                         description="Print the caller ID found in a recording as one JSON object.",
                         epilog=DECODE_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    dec.add_argument("file", metavar="FILE", help="8 kHz 16-bit mono WAV")
    dec.add_argument("--encoding", default="ascii",
                     help="encoding of MDMF names: ascii (default) or gbk")
    dec.set_defaults(func=cmd_decode)


def _caller_id(args):
    fmt = "dtmf" if args.mode == "dtmf" else args.format
    if args.number is not None and not (args.number.isascii() and args.number.isdigit()):
        raise ConfigError(f"--number {args.number!r}: only the digits 0-9 are allowed")
    if args.date is not None and not callerid.DATE_PATTERN.fullmatch(args.date):
        raise ConfigError(f"--date {args.date!r}: expected MMDDHHMM, e.g. 03171656")
    if fmt == "sdmf" and args.date is None:
        raise ConfigError("--format sdmf needs --date MMDDHHMM")
    if args.name is not None and fmt != "mdmf":
        raise ConfigError(f"--name is sent only in MDMF, not in {fmt.upper()}")
    try:
        codecs.lookup(args.encoding)
    except LookupError:
        raise ConfigError(f"--encoding {args.encoding!r}: unknown (use ascii or gbk)") from None
    if args.name is not None:
        try:
            args.name.encode(args.encoding)
        except UnicodeEncodeError:
            raise ConfigError(f"--name {args.name!r}: cannot be encoded as {args.encoding} "
                              "(try --encoding gbk)") from None
    if args.level > 3.14 or args.level < -60:
        raise ConfigError(f"--level {args.level}: must be between -60 and +3.14 dBm0")
    return callerid.CallerId(args.number, args.name, args.date, fmt, number_absent=args.absent)


def cmd_gen(args):
    cid = _caller_id(args)
    samples = callerid.onhook_signal(cid, args.mode, args.level, encoding=args.encoding)
    with wave.open(args.output, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(dsp.SAMPLE_RATE)
        w.writeframes(samples.astype("<i2").tobytes())
    return 0


def read_wav_8k(path):
    """Samples of an 8 kHz 16-bit mono WAV (stdlib wave) as int16."""
    try:
        with wave.open(path, "rb") as w:
            rate, width, channels = w.getframerate(), w.getsampwidth(), w.getnchannels()
            frames = w.readframes(w.getnframes())
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a directory, not a WAV file") from None
    except (wave.Error, EOFError) as exc:
        detail = f" ({exc})" if str(exc) else ""
        raise AudioFormatError(f"{path}: not a 16-bit PCM WAV file{detail}") from None
    if (rate, width, channels) != (dsp.SAMPLE_RATE, 2, 1):
        raise AudioFormatError(f"{path}: need 8000 Hz 16-bit mono, got {rate} Hz "
                               f"{8 * width}-bit {channels} channel(s)")
    return np.frombuffer(frames, dtype="<i2").astype(np.int16)


def cmd_decode(args):
    samples = read_wav_8k(args.file)
    try:
        codecs.lookup(args.encoding)
    except LookupError:
        raise ConfigError(f"--encoding {args.encoding!r}: unknown (use ascii or gbk)") from None
    found = callerid.decode_onhook(samples, encoding=args.encoding)
    if not found:
        raise VoiceBoardError(f"{args.file}: no caller ID found")
    # Prefer the first delivery whose checksum holds (DTMF has none).
    cid, ok, mode = next((f for f in found if f[1] is not False), found[0])
    print(json.dumps({"number": cid.number, "name": cid.name, "date": cid.date, "format": cid.format,
                      "mode": mode, "checksum_ok": ok, "number_absent": cid.number_absent,
                      "name_absent": cid.name_absent}, ensure_ascii=False))
    return 0
