"""Sound-card tools: ``voiceboard devices``, ``loopback-test``, ``plot``, ``softphone``, and the
code behind ``voiceboard dtmf listen`` and ``voiceboard dtmf send``.

Everything that touches a device goes through the ``sound://`` board (drivers/sound.py), so
these tools exercise the same path -- PortAudio callback, rings, resampling, the board's DSP
-- that an IVR on a sound card uses. They run in real time.
"""
import argparse
import asyncio
import json
import math
import os
import subprocess
import shutil
import sys
import tempfile
import urllib.parse

import numpy as np

from voiceboard import audio, clock, dsp, tones
from voiceboard.errors import ConfigError

# Level of a 0 dBm0 sine in RMS 16-bit units (telephony.md 1.4).
DBM0_RMS = 16141.0
METER_FLOOR_DBM0 = -60.0        # the meter's left end: below every detector's threshold
METER_WIDTH = 30                # characters from METER_FLOOR_DBM0 to 0 dBm0 (2 dB each)
TAP_PERIOD_S = 0.05             # how often the tools take captured audio: a meter redrawn 20 times a second
# loopback-test: a digit is 60 ms on and 100 ms off (Q.24: >= 40 ms on, >= 50 ms off, at most
# 10 digits/s), at the -10 dBm0 of common generators (spandsp and DAHDI defaults, telephony.md 6).
LOOP_ON_MS, LOOP_OFF_MS, LOOP_LEVEL_DBM0 = 60, 100, -10.0
LOOP_GAP_S = 1.0                # silence around each call-progress tone, so cadences start clean
LOOP_TONES = ("dial", "busy", "ringback", "congestion", "sit")    # what dialling listens for
TONE_PROBE_S = 15.0             # a tone not recognised in this much clean signal is skipped


def register(subparsers):
    dev = subparsers.add_parser("devices", help="list sound devices (PortAudio)",
                                description="List the sound devices PortAudio sees: channels, "
                                            "supported rates; * marks the default input/output.")
    dev.add_argument("--json", action="store_true", help="print the table as JSON")
    dev.set_defaults(func=run_devices)

    loop = subparsers.add_parser(
        "loopback-test", help="play DTMF and tones out of a sound card and check what comes back",
        description="Play all 16 DTMF digits and the region's call-progress tones out of a sound "
                    "card, record them back (a cable from output to input, or a sound server's "
                    "monitor), and report per digit: detected, level, twist, frequency error and "
                    "round-trip latency; per tone: recognised. Exits 1 if anything failed.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n  voiceboard loopback-test --device pulse\n"
               "  voiceboard loopback-test --input 'USB Audio' --output 'USB Audio' --rate 48000\n")
    _device_options(loop, separate=True)
    loop.add_argument("--region", default=tones.default_region(), metavar="R",
                      help=f"tone table: {', '.join(tones.region_names())} (default: {tones.default_region()})")
    loop.add_argument("--tones", default=",".join(LOOP_TONES), metavar="LIST",
                      help=f"comma-separated tone names, 'all', or 'none' (default: {','.join(LOOP_TONES)})")
    loop.add_argument("--json", action="store_true", help="print the report as JSON")
    loop.set_defaults(func=run_loopback)

    plot = subparsers.add_parser("plot", help="draw a spectrogram with the DTMF digits and tones found",
                                 description="Draw a WAV file's spectrogram (PNG) and mark the DTMF "
                                             "digits and call-progress tones detected in it.")
    plot.add_argument("file", metavar="FILE.wav", help="audio file (any common WAV format)")
    plot.add_argument("-o", "--output", required=True, metavar="FILE.png", help="image to write")
    plot.add_argument("--region", default=tones.default_region(), metavar="R",
                      help="tone table for call-progress detection")
    plot.add_argument("--channel", default="0", metavar="N", help="channel of a multi-channel WAV (default 0)")
    plot.set_defaults(func=run_plot)

    soft = subparsers.add_parser(
        "softphone", help="call a demo IVR on an emulated board, with the sound card as your phone",
        description="The sound card becomes a caller's telephone on an emulated analog line: you "
                    "hear what the board plays, and the keys you type are sent as real DTMF audio "
                    "(mixed with the microphone) into the line, where the board's receiver has to "
                    "find them.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="keys: 0-9 * # A-D send DTMF; c calls again; h hangs up; q (or Ctrl-C) quits.\n"
               "The terminal is switched to character mode while it runs; keys can also be piped\n"
               "in (the softphone then quits 2 s after the last key, or after --seconds).\n")
    _device_options(soft, separate=True)
    soft.add_argument("--prompt", metavar="FILE.wav",
                      help="the IVR's greeting (default: spoken by espeak-ng, or a beep without it)")
    soft.add_argument("--seconds", metavar="S", help="hang up and quit after S seconds")
    soft.set_defaults(func=run_softphone)


def register_dtmf(sub):
    """``dtmf listen`` and ``dtmf send`` (called by voiceboard/cli/dtmf.py)."""
    listen = sub.add_parser("listen", help="detect DTMF live from a sound card",
                            description="Detect DTMF digits live from a sound card: each digit with "
                                        "time, duration, level and twist; a level meter on a "
                                        "terminal; a summary at the end (Ctrl-C or --seconds).")
    _device_options(listen)
    listen.add_argument("--seconds", metavar="S", help="stop after S seconds")
    listen.add_argument("--mode", choices=list(dsp.DTMF_MODES), default="normal", help="receiver preset")
    return listen


def add_device_options(parser):
    """--device and --rate (for ``dtmf send``)."""
    _device_options(parser)


def _device_options(parser, separate=False):
    parser.add_argument("--device", default="default", metavar="D",
                        help="PortAudio device: index or part of the name (see 'voiceboard devices')")
    if separate:
        parser.add_argument("--input", metavar="D", help="capture device, if not --device")
        parser.add_argument("--output", metavar="D", help="playback device, if not --device")
    parser.add_argument("--rate", metavar="N", help="device sample rate (default: the device's own)")


def _url(args, **extra):
    """The sound:// URL of the command-line device options (and ``extra`` URL options)."""
    query = dict(extra)
    if getattr(args, "input", None):
        query["input"] = args.input
    if getattr(args, "output", None):
        query["output"] = args.output
    if args.rate is not None:
        query["rate"] = args.rate
    url = "sound://" + urllib.parse.quote(args.device, safe="")
    return url + ("?" + urllib.parse.urlencode(query) if query else "")


def _seconds(option, text):
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        raise ConfigError(f"{option}: {text!r} is not a number of seconds") from None
    if not 0 < value < math.inf:
        raise ConfigError(f"{option}: must be a positive number of seconds, got {text!r}")
    return value


def _dbm0(samples):
    """RMS level of int16 samples in dBm0 (METER_FLOOR_DBM0 for silence)."""
    if not samples.size:
        return METER_FLOOR_DBM0
    rms = float(np.sqrt(np.mean(samples.astype(np.float64) ** 2)))
    return max(METER_FLOOR_DBM0, 20 * math.log10(rms / DBM0_RMS)) if rms else METER_FLOOR_DBM0


def _open(url):
    import drivers
    return drivers.open_board(url)


# --- devices ------------------------------------------------------------------------------------

def run_devices(args):
    from drivers import sound
    table = sound.device_table()
    if args.json:
        print(json.dumps(table, indent=2))
        return 0
    print(f"{'':2}{'#':>3}  {'in':>3} {'out':>3}  {'rate':>6}  {'rates (kHz)':<32} name (host API)")
    for d in table:
        mark = "*" if d["default_input"] or d["default_output"] else " "
        which = [w for w, flag in (("input", d["default_input"]), ("output", d["default_output"])) if flag]
        rates = " ".join(f"{r / 1000:g}" for r in d["rates"])
        note = f"  [default {' and '.join(which)}]" if which else ""
        print(f"{mark:2}{d['index']:>3}  {d['inputs']:>3} {d['outputs']:>3}  {d['default_rate']:>6}  "
              f"{rates:<32} {d['name']} ({d['hostapi']}){note}")
    if not table:
        print("(no devices)")
    return 0


# --- dtmf listen ------------------------------------------------------------------------------------

def run_listen(args):
    seconds = _seconds("--seconds", args.seconds)
    meter = sys.stdout.isatty()
    state = {"events": [], "elapsed": 0.0, "stats": {}}

    async def main():
        async with _open(_url(args, dtmf_mode=args.mode)) as board:
            print(f"listening on {board.url} ({board.rate} samples/s); Ctrl-C to stop", flush=True)
            board.tap_start(0)
            loop = asyncio.get_running_loop()
            start = loop.time()
            det = dsp.DtmfDetector(args.mode)
            try:
                while seconds is None or loop.time() - start < seconds:
                    await asyncio.sleep(TAP_PERIOD_S)
                    chunk = board.tap_take(0)
                    level = _dbm0(chunk)
                    for ev in det.feed(chunk):
                        _print_digit(ev, state, meter)
                    if meter:
                        filled = int(round((level - METER_FLOOR_DBM0) / -METER_FLOOR_DBM0 * METER_WIDTH))
                        held = det.current or " "
                        sys.stdout.write(f"\r  level {level:6.1f} dBm0 [{'#' * filled:<{METER_WIDTH}}] {held}")
                        sys.stdout.flush()
            finally:
                for ev in det.finish():
                    _print_digit(ev, state, meter)
                det.close()
                state["elapsed"] = loop.time() - start
                state["stats"] = board.stats

    try:
        clock.run(main(), virtual=False)
    except KeyboardInterrupt:
        pass                                # Ctrl-C is how listening normally ends
    _print_summary(state, meter)
    return 0


def _print_digit(ev, state, meter):
    if ev.kind != "off":
        return
    state["events"].append(ev)
    rate = dsp.SAMPLE_RATE
    if meter:
        sys.stdout.write("\r" + " " * (METER_WIDTH + 30) + "\r")
    print(f"{ev.start / rate:9.3f} s  {ev.digit}  {ev.duration * 1000 / rate:5.0f} ms  "
          f"level {ev.row_dbm0:6.1f} / {ev.col_dbm0:6.1f} dBm0  twist {ev.twist_db:+5.1f} dB", flush=True)


def _print_summary(state, meter):
    events = state["events"]
    if meter:
        sys.stdout.write("\r" + " " * (METER_WIDTH + 30) + "\r")
    digits = "".join(e.digit for e in events)
    print(f"summary: {len(events)} digit(s) {digits!r} in {state['elapsed']:.1f} s", end="")
    if events:
        levels = [e.row_dbm0 for e in events] + [e.col_dbm0 for e in events]
        twists = [e.twist_db for e in events]
        print(f"; tone levels {min(levels):.1f} to {max(levels):.1f} dBm0, twist {min(twists):+.1f} "
              f"to {max(twists):+.1f} dB", end="")
    st = state["stats"]
    if st:
        print(f"; device: underruns rx {st['rx_underrun']} tx {st['tx_underrun']}, overruns rx "
              f"{st['rx_overrun']} tx {st['tx_overrun']}, dropped rx {st['rx_dropped']} tx "
              f"{st['tx_dropped']}, losses {st['losses']}", end="")
    print(flush=True)


# --- dtmf send ----------------------------------------------------------------------------------

def run_send(args, samples):
    """Play ``samples`` (8 kHz int16, rendered by ``dtmf gen``'s code) on the device."""
    async def main():
        async with _open(_url(args)) as board:
            ch = board.channel(0)
            await ch.answer()
            await ch.play(samples)
            await asyncio.sleep(board.output_delay)
            return board.stats

    stats = clock.run(main(), virtual=False)
    print(f"sent {samples.size / dsp.SAMPLE_RATE:.2f} s at {stats['rate']} samples/s "
          f"(tx underruns {stats['tx_underrun']})")
    return 0


# --- loopback-test ------------------------------------------------------------------------------------

def _tone_plan(region, names):
    """(name, samples, seconds the detector needed on clean signal) per tone to play."""
    table = tones.region(region)
    wanted = list(table.tones) if names == ["all"] else [] if names == ["none"] else names
    plan, skipped = [], []
    for name in wanted:
        table.tone(name)                        # ValueError naming the valid tones
        probe = dsp.tone_samples(name, region, seconds=TONE_PROBE_S)
        with dsp.CallProgressDetector(region) as det:
            hits = [e for e in det.feed(probe) if e.kind == "tone"]
        if not hits or hits[0].tone != name:
            skipped.append(name)
            continue
        needed = hits[0].position / dsp.SAMPLE_RATE
        plan.append((name, dsp.tone_samples(name, region, seconds=needed + LOOP_GAP_S), needed))
    return plan, skipped


def run_loopback(args):
    names = [n.strip() for n in args.tones.split(",") if n.strip()]
    try:
        plan, skipped = _tone_plan(args.region, names)
    except ValueError as exc:
        raise ConfigError(f"--tones/--region: {exc}") from None
    rate = dsp.SAMPLE_RATE
    gap = np.zeros(int(LOOP_GAP_S * rate), dtype=np.int16)
    keys = dsp.DTMF_DIGITS
    digit_audio = dsp.dtmf_samples(keys, level_dbm0=LOOP_LEVEL_DBM0, on_ms=LOOP_ON_MS, off_ms=LOOP_OFF_MS)
    per_digit = (LOOP_ON_MS + LOOP_OFF_MS) * rate // 1000
    parts, tone_at = [gap, digit_audio, gap], []
    pos = gap.size * 2 + digit_audio.size
    for name, samples, needed in plan:
        tone_at.append((name, pos, pos + samples.size, needed))
        parts += [samples, gap]
        pos += samples.size + gap.size
    program = np.concatenate(parts)

    async def main():
        async with _open(_url(args)) as board:
            ch = board.channel(0)
            await ch.answer()
            # Recording and playback start on the same tick: sample k of the recording is
            # what the device captured while sample k of the program went out.
            board.tap_start(0)
            board.feed(0, program)
            await asyncio.sleep(program.size / rate + board.output_delay + 0.5)
            return board.tap_take(0), board.stats, board.rate

    heard, stats, device_rate = clock.run(main(), virtual=False)
    report = _loopback_report(heard, keys, gap.size, per_digit, tone_at, args.region)
    report.update(device=args.device, rate=device_rate, stats=stats, skipped_tones=skipped)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        _print_loopback(report)
    return 0 if report["passed"] else 1


def _loopback_report(heard, keys, lead, per_digit, tone_at, region):
    rate = dsp.SAMPLE_RATE
    found = dsp.detect_dtmf(heard)
    digits, latencies = [], []
    used = set()
    for i, key in enumerate(keys):
        sent = lead + i * per_digit
        # The first detection of this key after it was sent, within a digit period of latency
        # plus half a second of device latency.
        match = next((k for k, e in enumerate(found) if k not in used and e.digit == key
                      and sent - per_digit <= e.start <= sent + per_digit + rate // 2), None)
        row = {"digit": key, "detected": match is not None}
        if match is not None:
            used.add(match)
            e = found[match]
            latency_ms = (e.start - sent) * 1000 / rate
            latencies.append(latency_ms)
            row.update(row_dbm0=e.row_dbm0, col_dbm0=e.col_dbm0, twist_db=e.twist_db,
                       row_error_hz=e.row_offset_hz, col_error_hz=e.col_offset_hz,
                       duration_ms=round(e.duration * 1000 / rate, 1), latency_ms=round(latency_ms, 1))
        digits.append(row)
    extra = [e.digit for k, e in enumerate(found) if k not in used]
    latency = float(np.median(latencies)) if latencies else None
    shift = int(round(latency * rate / 1000)) if latency is not None else 0
    tone_rows = []
    for name, start, end, needed in tone_at:
        piece = heard[max(0, start + shift - rate // 4):end + shift + rate // 4]
        with dsp.CallProgressDetector(region) as det:
            hits = [e for e in det.feed(piece) if e.kind == "tone"]
        got = hits[0].tone if hits else None
        tone_rows.append({"tone": name, "recognised": got == name, "heard_as": got,
                          "after_s": round(hits[0].position / rate, 2) if hits else None,
                          "clean_s": round(needed, 2)})
    passed = all(r["detected"] for r in digits) and not extra and all(r["recognised"] for r in tone_rows)
    return {"passed": passed, "digits": digits, "extra_digits": "".join(extra),
            "latency_ms": None if latency is None else round(latency, 1), "tones": tone_rows}


def _print_loopback(rep):
    print(f"loopback on {rep['device']!r} at {rep['rate']} samples/s")
    print(" digit  found   row dBm0  col dBm0  twist dB  row err Hz  col err Hz  latency ms")
    for r in rep["digits"]:
        if r["detected"]:
            print(f"   {r['digit']}     yes    {r['row_dbm0']:7.1f}   {r['col_dbm0']:7.1f}   {r['twist_db']:+6.1f}"
                  f"    {r['row_error_hz']:+7.1f}     {r['col_error_hz']:+7.1f}     {r['latency_ms']:7.1f}")
        else:
            print(f"   {r['digit']}     NO")
    if rep["extra_digits"]:
        print(f"extra digits heard: {rep['extra_digits']!r}")
    for t in rep["tones"]:
        state = (f"recognised after {t['after_s']} s (clean signal: {t['clean_s']} s)" if t["recognised"]
                 else f"NOT recognised (heard as {t['heard_as']})")
        print(f"tone {t['tone']:<12} {state}")
    for name in rep["skipped_tones"]:
        print(f"tone {name:<12} skipped: the detector does not recognise it in {TONE_PROBE_S:g} s of clean signal")
    st = rep["stats"]
    print(f"round-trip latency {rep['latency_ms']} ms; device: underruns rx {st['rx_underrun']} tx "
          f"{st['tx_underrun']}, overruns rx {st['rx_overrun']} tx {st['tx_overrun']}, dropped rx "
          f"{st['rx_dropped']} tx {st['tx_dropped']}")
    print("PASS" if rep["passed"] else "FAIL")


# --- plot -------------------------------------------------------------------------------------------

def run_plot(args):
    try:
        channel = int(args.channel)
    except ValueError:
        raise ConfigError(f"--channel: {args.channel!r} is not a whole number") from None
    samples, info = audio.read_audio(args.file, channel=channel)
    tones.region(args.region)
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rate = dsp.SAMPLE_RATE
    digits = dsp.detect_dtmf(samples)
    with dsp.CallProgressDetector(args.region) as det:
        progress = [e for e in det.feed(samples) if e.kind == "tone"]
    fig, ax = plt.subplots(figsize=(max(6.0, min(40.0, samples.size / rate)), 4.5), dpi=100)
    if samples.size >= 256:
        with np.errstate(divide="ignore"):          # digital silence is -inf dB ...
            # 256 points = 32 ms: 31 Hz bins keep DTMF tones (>= 73 Hz apart) apart.
            ax.specgram(samples.astype(np.float64), NFFT=256, Fs=rate, noverlap=192, cmap="viridis")
        ax.set_facecolor(plt.get_cmap("viridis")(0))    # ... drawn as the quietest colour
    ax.set_xlim(0, max(samples.size / rate, 0.01))
    ax.set_ylim(0, rate / 2)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("frequency (Hz)")
    ax.set_title(f"{os.path.basename(args.file)}: digits {''.join(e.digit for e in digits)!r}, "
                 f"tones {', '.join(e.tone for e in progress) or 'none'}")
    for e in digits:
        ax.axvspan(e.start / rate, e.end / rate, color="white", alpha=0.25)
        ax.text((e.start + e.end) / 2 / rate, rate / 2 * 0.93, e.digit, color="white", ha="center",
                fontsize=12, fontweight="bold")
    for e in progress:
        ax.axvspan(e.start / rate, e.position / rate, ymin=0.0, ymax=0.04, color="orange")
        ax.text(e.position / rate, 120, e.tone, color="orange", fontsize=9, ha="right")
    fig.tight_layout()
    fig.savefig(args.output)
    plt.close(fig)
    print(f"{args.output}: {samples.size / rate:.2f} s, {len(digits)} digit(s), {len(progress)} tone(s)")
    return 0


# --- softphone ---------------------------------------------------------------------------------------

KEY_LEVEL_DBM0 = -10.0          # a phone's DTMF level (spandsp/DAHDI generators, telephony.md 6)
KEY_ON_MS, KEY_OFF_MS = 100, 100    # a key held for a typical 100 ms (>= 40 ms, Q.24)
EOF_GRACE_S = 2.0               # piped keys: time for the IVR to answer the last one
DEMO_LEVEL_DBM0 = -15.0         # the demo IVR's beeps: 5 dB under the -10 dBm0 of its region's tones


def _beep(hz, ms, gap_ms=0):
    """A sine beep at DEMO_LEVEL_DBM0 followed by ``gap_ms`` of silence (8 kHz int16)."""
    t = np.arange(ms * dsp.SAMPLE_RATE // 1000) / dsp.SAMPLE_RATE
    tone = DBM0_RMS * math.sqrt(2) * 10 ** (DEMO_LEVEL_DBM0 / 20) * np.sin(2 * np.pi * hz * t)
    return np.concatenate([np.round(tone), np.zeros(gap_ms * dsp.SAMPLE_RATE // 1000)]).astype(np.int16)


def _greeting(path):
    if path:
        return audio.read_audio(path)[0]
    espeak = shutil.which("espeak-ng")
    if espeak:
        text = "Welcome to the voice board demo. Enter some digits, then the hash key."
        with tempfile.TemporaryDirectory() as tmp:
            wav = os.path.join(tmp, "greeting.wav")
            subprocess.run([espeak, "-w", wav, text], check=True, capture_output=True)
            samples, _ = audio.read_audio(wav)
            return samples
    return np.concatenate([_beep(800, 300, 300), _beep(800, 300)])


async def _demo_ivr(ch, greeting, say):
    """The IVR on the emulated board: greet, collect digits up to #, read them back as a beep
    per digit, again until the caller hangs up."""
    while True:
        ev = await ch.events.get()
        if ev.kind != "ring":
            continue
        await ch.answer()
        say("IVR: answered")
        while True:
            await ch.play(greeting, barge_in=dsp.DTMF_DIGITS)
            r = await ch.collect(max_digits=16, terminators="#", first_timeout=15.0, inter_timeout=5.0)
            if r.reason == "hangup":
                say("IVR: the caller hung up")
                break
            say(f"IVR: collected {r.digits!r} ({r.reason})")
            readback = np.concatenate([_beep(1000, 120, 100) for _ in r.digits] or [_beep(400, 300)])
            if (await ch.play(readback)).reason == "hangup":
                say("IVR: the caller hung up")
                break


def run_softphone(args):
    seconds = _seconds("--seconds", args.seconds)
    greeting = _greeting(args.prompt)
    import drivers
    from drivers.linesim import PortState

    def say(text):
        sys.stdout.write(("\r\n" if raw else "\n").join(text.split("\n")) + ("\r\n" if raw else "\n"))
        sys.stdout.flush()

    fd = sys.stdin.fileno()
    raw = os.isatty(fd)
    levels = {"heard_peak": METER_FLOOR_DBM0, "heard_s": 0.0, "sent_s": 0.0}

    async def main():
        loop = asyncio.get_running_loop()
        keys = asyncio.Queue()
        ended = loop.create_future()

        def on_input():
            data = os.read(fd, 64)
            if not data:
                loop.remove_reader(fd)
                keys.put_nowait(None)
            for c in data.decode(errors="replace"):
                keys.put_nowait(c)

        async with drivers.open_board("emu://analog?ports=1") as ivr_board, _open(_url(args)) as phone:
            port = ivr_board.exchange.ports[0]
            ivr = loop.create_task(_demo_ivr(ivr_board.channel(0), greeting, say))
            say(f"softphone: {phone.url} at {phone.rate} samples/s is the caller on emu://analog port 0")
            say("keys: 0-9 * # A-D send DTMF, c call, h hang up, q quit")
            try:
                loop.add_reader(fd, on_input)
            except PermissionError:
                # A regular file (``< keys.txt``) cannot be polled: it is all there already.
                for c in sys.stdin.read():
                    keys.put_nowait(c)
                keys.put_nowait(None)
            pending = np.zeros(0, dtype=np.int16)
            engine = ivr_board.exchange.engine
            phone.tap_start(0)
            calling = loop.create_task(port.call())
            start = loop.time()
            eof_at = None
            try:
                while not ended.done():
                    await asyncio.sleep(clock.TICK_SECONDS)
                    while not keys.empty():
                        c = keys.get_nowait()
                        if c is None:
                            eof_at = loop.time()
                        elif c.upper() in dsp.DTMF_DIGITS:
                            pending = np.concatenate([pending, dsp.dtmf_samples(
                                c.upper(), level_dbm0=KEY_LEVEL_DBM0, on_ms=KEY_ON_MS, off_ms=KEY_OFF_MS)])
                        elif c == "c" and port.state is PortState.IDLE:
                            say("softphone: calling")
                            calling = loop.create_task(port.call())
                        elif c == "h":
                            say("softphone: hanging up")
                            await port.hangup()
                        elif c in ("q", "\x03", "\x04"):
                            ended.set_result("quit")
                    mic = phone.tap_take(0)
                    if port.state is PortState.CONNECTED:
                        # Keys are mixed into the microphone signal, sample for sample.
                        n = min(mic.size, pending.size)
                        if pending.size and not mic.size:
                            n = min(pending.size, clock.TICK_SAMPLES)
                            mic = np.zeros(n, dtype=np.int16)
                        line = mic.astype(np.int32)
                        line[:n] += pending[:n]
                        pending = pending[n:]
                        if line.size:
                            if not engine.queued(port.number):
                                # The phone's audio arrives in uneven chunks: a 2-tick cushion
                                # keeps the line from gaps that would split a key in two.
                                engine.play(port.number, np.zeros(2 * clock.TICK_SAMPLES, np.int16))
                            engine.play(port.number, np.clip(line, -32768, 32767).astype(np.int16))
                            levels["sent_s"] += line.size / dsp.SAMPLE_RATE
                        heard = engine.take_recording(port.number)
                        if not engine.recording(port.number):
                            engine.start_record(port.number, 10 * dsp.SAMPLE_RATE)
                        if heard.size:
                            phone.feed(0, heard)
                            levels["heard_s"] += heard.size / dsp.SAMPLE_RATE
                            levels["heard_peak"] = max(levels["heard_peak"], _dbm0(heard))
                    now = loop.time()
                    if seconds is not None and now - start >= seconds:
                        ended.set_result("time")
                    elif eof_at is not None and not pending.size and now - eof_at >= EOF_GRACE_S:
                        ended.set_result("end of input")
            finally:
                loop.remove_reader(fd)
                if port.state is PortState.CONNECTED:
                    await port.hangup()
                await asyncio.sleep(0.1)
                for task in (ivr, calling):
                    task.cancel()
                levels["stats"] = phone.stats

    saved = None
    if raw:
        import termios
        import tty
        saved = termios.tcgetattr(fd)
        tty.setcbreak(fd)
    try:
        clock.run(main(), virtual=False)
    except KeyboardInterrupt:
        pass
    finally:
        if saved is not None:
            import termios
            termios.tcsetattr(fd, termios.TCSADRAIN, saved)
    st = levels.get("stats", {})
    raw = False
    say(f"softphone: heard {levels['heard_s']:.1f} s of the line (loudest tick: "
        f"{levels['heard_peak']:.1f} dBm0), sent {levels['sent_s']:.1f} s; device underruns rx "
        f"{st.get('rx_underrun', 0)} tx {st.get('tx_underrun', 0)}")
    return 0
