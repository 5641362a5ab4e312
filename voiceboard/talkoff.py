"""DTMF talk-off: a corpus of speech and music with no DTMF in it, and the false digits the
receiver reports on it.

A talk-off event is a digit reported while the far end is talking or playing music. Every
digit reported on this corpus is false, because nothing in it is DTMF. The corpus is
rebuilt from parameters, never downloaded:

- speech: espeak-ng in several languages, speeds, pitches and voice variants, reading
  procedurally generated bank-line sentences, numbers and free word sequences; resampled to
  8 kHz and set to a realistic active speech level (ITU-T P.56 method B);
- music: synthesised with numpy on 12-tone equal temperament: chord progressions, melodies
  over chords and drums, percussion with a bass line, and sustained two-note intervals whose
  notes sit near the DTMF frequencies (F5 = 698.5 Hz is 0.2 % above 697 Hz, E6 = 1318.5 Hz is
  1.3 % below 1336 Hz, ...).

Rendered items are cached as 8 kHz WAV files named by a hash of their parameters. At
measurement time each item passes the line codec (A-law round trip by default) and one
receiver per item and mode, as one channel would run it.

API overview
------------
Corpus:
    :func:`plan_corpus` (the item list), :class:`Item`, :func:`build_corpus` (render what is
    missing in the cache), :class:`Corpus`, :func:`render`, :func:`speech_text`.
Measurement:
    :func:`measure` -> :class:`Result` (counts, hours, false-digit details, table),
    :func:`find_digits`, :func:`line`, :func:`rate_upper_bound`.
Levels:
    :func:`active_level` (ITU-T P.56 method B active speech level in dBm0).
"""
import hashlib
import json
import math
import os
import re
import subprocess
import tempfile
from dataclasses import asdict, dataclass, field
from functools import lru_cache

import numpy as np
from scipy import signal as _signal
from scipy import stats as _stats
from scipy.io import wavfile as _wavfile

from voiceboard import dsp

FS = dsp.SAMPLE_RATE
DBM0_RMS = 16141.0  # RMS of a 0 dBm0 sine in 16-bit linear (reference/telephony.md §1.4)
GENERATOR_VERSION = 1  # part of every cache key: bump when rendering changes
ESPEAK = "espeak-ng"

# Active speech level on the line: -15 to -25 dBm0 (the talk-off requirement, docs/talkoff.md;
# P.56 active level). Music is set to the same range.
LEVEL_RANGE_DBM0 = (-25.0, -15.0)
# espeak-ng -s is words per minute (default 175) and -p pitch 0-99 (default 50): a spread
# around the defaults, from slow and low to fast and high.
SPEEDS_WPM = (120, 150, 175, 200, 240)
PITCHES = (15, 30, 50, 70, 90)
# espeak-ng voice variants (espeak-ng --voices=variant): default male, female f2 and f4,
# male m3, and the Klatt formant synthesiser, so both synthesis methods are covered.
VARIANTS = ("", "+f2", "+f4", "+m3", "+klatt")
SPEECH_LANGUAGES = ("cmn", "en-us", "yue", "de", "fr-fr", "es", "ru", "ja", "hi", "ar", "vi", "en-gb")
MUSIC_KINDS = ("chords", "melody", "percussion", "intervals")
# Two-note intervals whose notes are both within the Q.24 accept band of a DTMF pair: they
# are DTMF by definition, so a compliant receiver must report them. Reported apart, as a
# reference, never counted as talk-off.
REFERENCE_KINDS = ("dtmf-pairs",)
_CHUNK = FS // 2  # feed 0.5 s at a time: at most ~9 digits, well inside the 32-event queue (private/dtmf.h)


# ---------------------------------------------------------------------------------------
# Levels
# ---------------------------------------------------------------------------------------

def active_level(samples):
    """Active level and activity factor after ITU-T P.56 method B.

    The envelope is a two-stage smoothing of the magnitude (time constant 0.03 s); a sample
    is active when the envelope crossed a threshold within the last 0.2 s (hangover). The
    active level is the level at the threshold that lies 15.9 dB (the margin) below it,
    interpolated between thresholds one octave apart (P.56 §B.2).

    Parameters
    ----------
    samples : array of linear samples (16-bit scale)

    Returns
    -------
    (level_dbm0, activity) : active level in dBm0 (-inf for silence) and the active fraction.
    """
    x = np.asarray(samples, dtype=np.float64).reshape(-1)
    n = x.size
    energy = float(np.dot(x, x))
    if n == 0 or energy == 0.0:
        return -math.inf, 0.0
    g = math.exp(-1.0 / (FS * 0.03))  # P.56: envelope time constant 0.03 s
    p = _signal.lfilter([1.0 - g], [1.0, -g], np.abs(x))
    q = _signal.lfilter([1.0 - g], [1.0, -g], p)
    hang = int(round(0.2 * FS))  # P.56: hangover 0.2 s
    margin = 15.9  # P.56: margin M in dB
    prev = None
    for j in range(16):  # P.56: thresholds c_j = 2^j for 16-bit samples
        c = 2.0 ** j
        cs = np.concatenate(([0], np.cumsum(q >= c)))
        lo = np.maximum(np.arange(n) - hang, 0)
        active = int(np.count_nonzero(cs[1:] - cs[lo] > 0))
        if active == 0:
            break
        a_db = 10.0 * math.log10(energy / active)
        delta = a_db - 20.0 * math.log10(c)
        if delta <= margin:
            if prev is None:
                level, act = a_db, active
            else:
                pa, pdelta, pact = prev
                w = (pdelta - margin) / (pdelta - delta)
                level, act = pa + w * (a_db - pa), pact + w * (active - pact)
            return level - 20.0 * math.log10(DBM0_RMS), act / n
        prev = (a_db, delta, active)
    # Every threshold still leaves more than the margin: too quiet to measure, use RMS.
    return 10.0 * math.log10(energy / n) - 20.0 * math.log10(DBM0_RMS), 1.0


def _set_level(x, level_dbm0):
    """Scale float samples to an active level and round to int16 (peaks beyond full scale clip)."""
    # P.56 thresholds are on the 16-bit scale: bring the signal there before measuring.
    x = x * (DBM0_RMS * 0.1 / max(float(np.sqrt(np.mean(x * x))), 1e-12))
    now, _ = active_level(x)
    y = x * 10.0 ** ((level_dbm0 - now) / 20.0)
    return np.clip(np.round(y), -32768, 32767).astype(np.int16)


# ---------------------------------------------------------------------------------------
# Items and the plan
# ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Item:
    """One corpus file: its material and every parameter that shapes it.

    ``material`` is "speech-<language>" or "music-<kind>"; ``voice``, ``speed`` (words per
    minute) and ``pitch`` (0-99) are the espeak-ng settings of a speech item.
    """
    material: str
    seconds: float
    level_dbm0: float
    seed: int
    voice: str = ""
    speed: int = 0
    pitch: int = 0

    @property
    def kind(self):
        """The language or music kind (the material without its prefix)."""
        return self.material.split("-", 1)[1]

    @property
    def key(self):
        """Hash of the parameters (and of the espeak-ng version for speech): the cache name."""
        spec = dict(asdict(self), generator=GENERATOR_VERSION)
        if self.material.startswith("speech-"):
            spec["espeak"] = espeak_version()
        blob = json.dumps(spec, sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:24]


def plan_corpus(languages=SPEECH_LANGUAGES, speech_minutes=5.0, music_kinds=MUSIC_KINDS,
                music_minutes=5.0, item_seconds=60.0, seed=1):
    """The list of items for a corpus.

    Parameters
    ----------
    languages : iterable of keys of :data:`LANGUAGES`
    speech_minutes : float
        Minutes of speech per language, cut into items of ``item_seconds``; each item draws
        its own speed, pitch, variant and level, so the settings spread over the corpus.
    music_kinds : iterable of :data:`MUSIC_KINDS` (and :data:`REFERENCE_KINDS`)
    music_minutes : float
        Minutes per music kind.
    item_seconds : float
    seed : int
        Same seed, same corpus.

    Raises
    ------
    ValueError
        Unknown language or kind, or a non-positive duration.
    """
    if item_seconds <= 0 or speech_minutes < 0 or music_minutes < 0:
        raise ValueError(f"plan_corpus: durations must be positive (item_seconds={item_seconds}, "
                         f"speech_minutes={speech_minutes}, music_minutes={music_minutes})")
    rng = np.random.default_rng(seed)
    items = []
    for lang in languages:
        if lang not in LANGUAGES:
            raise ValueError(f"plan_corpus: unknown language {lang!r} (choose from {', '.join(LANGUAGES)})")
        for sec in _split(speech_minutes * 60.0, item_seconds):
            items.append(Item(
                material="speech-" + lang, seconds=sec, level_dbm0=_level(rng), seed=int(rng.integers(2**31)),
                voice=LANGUAGES[lang]["voice"] + VARIANTS[rng.integers(len(VARIANTS))],
                speed=int(SPEEDS_WPM[rng.integers(len(SPEEDS_WPM))]), pitch=int(PITCHES[rng.integers(len(PITCHES))])))
    for kind in music_kinds:
        if kind not in _MUSIC:
            raise ValueError(f"plan_corpus: unknown music kind {kind!r} (choose from {', '.join(_MUSIC)})")
        for sec in _split(music_minutes * 60.0, item_seconds):
            items.append(Item(material="music-" + kind, seconds=sec, level_dbm0=_level(rng),
                              seed=int(rng.integers(2**31))))
    return items


def _split(total, size):
    full, rest = divmod(round(total, 3), size)
    return [float(size)] * int(full) + ([round(rest, 3)] if rest >= 1.0 else [])


def _level(rng):
    return round(float(rng.uniform(*LEVEL_RANGE_DBM0)), 2)


# ---------------------------------------------------------------------------------------
# Speech
# ---------------------------------------------------------------------------------------

@lru_cache(maxsize=None)
def espeak_version():
    """The ``espeak-ng --version`` line (part of the speech cache keys)."""
    return _run_espeak(["--version"], b"").decode().strip()


def _run_espeak(args, text):
    try:
        done = subprocess.run([ESPEAK] + args, input=text, capture_output=True, check=False)
    except FileNotFoundError:
        raise RuntimeError(f"talk-off corpus: {ESPEAK} not found (install espeak-ng)") from None
    if done.returncode != 0:
        raise RuntimeError(f"talk-off corpus: {ESPEAK} {' '.join(args)} failed: "
                           f"{done.stderr.decode(errors='replace').strip()}")
    return done.stdout


def espeak_phonemes(text, voice):
    """The phoneme mnemonics espeak-ng produces for text (``-x``); a language switch shows as
    "(en)" etc., which is how a voice reveals text it cannot read."""
    with tempfile.TemporaryDirectory(prefix="vb-talkoff-") as tmp:
        path = os.path.join(tmp, "p.txt")
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        return _run_espeak(["-q", "-x", "-v", voice, "-f", path], b"").decode()


def _fill(slot, rng):
    r = rng.integers
    if slot == "d":
        return str(r(10))
    if slot == "n":
        return str(r(4, 9))
    if slot == "amount":
        return str(int(10.0 ** rng.uniform(0.0, 6.5)))
    if slot == "cents":
        return str(r(1, 100))
    if slot == "day":
        return str(r(1, 29))
    if slot == "month":
        return str(r(1, 13))
    if slot == "year":
        return str(r(1990, 2031))
    if slot == "acct":
        return " ".join(f"{r(10000):04d}" for _ in range(4))
    if slot == "phone":
        return f"{r(100, 1000)} {r(1000, 10000)} {r(1000, 10000)}"
    if slot == "time":
        return f"{r(24)}:{r(60):02d}"
    raise KeyError(slot)


def speech_text(language, rng, sentences=12):
    """A paragraph: bank sentences with random numbers, mixed with free word sequences.

    Parameters
    ----------
    language : key of :data:`LANGUAGES`
    rng : numpy.random.Generator
    sentences : int
    """
    lang = LANGUAGES[language]
    parts = []
    for _ in range(sentences):
        if rng.random() < 0.6:
            template = lang["sentences"][rng.integers(len(lang["sentences"]))]
            parts.append(re.sub(r"\{(\w+)\}", lambda m: _fill(m.group(1), rng), template))
        else:
            words = rng.choice(lang["words"], size=int(rng.integers(4, 15)))
            parts.append(" ".join(words) + (", " if rng.random() < 0.3 else ". "))
    return " ".join(parts)


def _speech(item):
    rng = np.random.default_rng(item.seed)
    need = int(round(item.seconds * FS))
    chunks, have = [], 0
    with tempfile.TemporaryDirectory(prefix="vb-talkoff-") as tmp:
        path, text_path = os.path.join(tmp, "s.wav"), os.path.join(tmp, "s.txt")
        while have < need:
            # Text goes through a file: espeak-ng 1.51 splits multi-byte characters read
            # from stdin at its buffer boundaries and spells the debris out in English.
            with open(text_path, "w", encoding="utf-8") as f:
                f.write(speech_text(item.kind, rng))
            _run_espeak(["-v", item.voice, "-s", str(item.speed), "-p", str(item.pitch), "-w", path,
                         "-f", text_path], b"")
            rate, x = _wavfile.read(path)
            g = math.gcd(FS, rate)
            y = _signal.resample_poly(x.astype(np.float64), FS // g, rate // g)
            pause = np.zeros(int(rng.uniform(0.2, 1.2) * FS))  # turn-taking pause between paragraphs
            chunks += [y, pause]
            have += y.size + pause.size
    return np.concatenate(chunks)[:need]


# ---------------------------------------------------------------------------------------
# Music (12-tone equal temperament, A4 = 440 Hz, MIDI note numbers)
# ---------------------------------------------------------------------------------------

def note_hz(midi):
    """Equal-tempered frequency of a MIDI note (69 = A4 = 440 Hz)."""
    return 440.0 * 2.0 ** ((np.asarray(midi, dtype=np.float64) - 69.0) / 12.0)


# The music numbers below are synthesis choices, not spec values: note lengths of 80-600 ms
# and the sustained intervals come from the talk-off requirement (docs/talkoff.md); vibrato of
# 4.5-6.5 Hz and up to about 1 % depth is the usual range of sung and bowed vibrato.
# Harmonic amplitudes (fundamental first), envelope (attack s, release s, decay time constant
# s or 0 for sustained), inharmonicity B (partial k at k*sqrt(1+B k^2)), vibrato depth (fraction).
_TIMBRES = {
    "whistle": ([1.0, 0.03], 0.03, 0.05, 0.0, 0.0, 0.004),
    "flute": ([1.0, 0.18, 0.06, 0.02], 0.04, 0.06, 0.0, 0.0, 0.008),
    "clarinet": ([1.0, 0.04, 0.5, 0.03, 0.3, 0.02, 0.15, 0.02, 0.1], 0.03, 0.05, 0.0, 0.0, 0.004),
    "strings": ([1.0 / k for k in range(1, 13)], 0.08, 0.12, 0.0, 0.0, 0.006),
    "organ": ([1.0, 0.7, 0.0, 0.5, 0.0, 0.3, 0.0, 0.25], 0.01, 0.02, 0.0, 0.0, 0.0),
    "brass": ([0.6, 1.0, 0.8, 0.6, 0.45, 0.3, 0.2, 0.12, 0.08], 0.05, 0.06, 0.0, 0.0, 0.005),
    "piano": ([k ** -1.3 for k in range(1, 11)], 0.005, 0.08, 0.6, 1e-4, 0.0),
}
_MELODY_TIMBRES = ("whistle", "flute", "clarinet", "strings", "brass", "piano", "organ")
_MAJOR = (0, 2, 4, 5, 7, 9, 11)
_MINOR = (0, 2, 3, 5, 7, 8, 10)


def _tone(f0, n, timbre, rng, vibrato=True):
    """One note of n samples: harmonic partials below 3.9 kHz, vibrato, envelope."""
    amps, attack, release, decay, inharm, depth = _TIMBRES[timbre]
    t = np.arange(n) / FS
    rate = rng.uniform(4.5, 6.5)  # vibrato rate, Hz
    depth = depth * rng.uniform(0.5, 1.5) if vibrato else 0.0
    # Phase of the fundamental: integral of f0 * (1 + depth * sin(2 pi rate t)).
    phase = 2 * np.pi * f0 * t + f0 * depth / rate * (1.0 - np.cos(2 * np.pi * rate * t))
    out = np.zeros(n)
    for k, a in enumerate(amps, start=1):
        stretch = k * math.sqrt(1.0 + inharm * k * k)
        if a == 0.0 or f0 * stretch * (1 + depth) > 3900.0:  # stay below Nyquist (4 kHz)
            continue
        out += a * np.sin(stretch * phase + rng.uniform(0, 2 * np.pi))
    env = np.minimum(1.0, np.minimum(t / attack, (n / FS - t) / release)).clip(0.0)
    if decay:
        env *= np.exp(-t / decay)
    return out * env / math.sqrt(sum(a * a for a in amps) / 2.0)


def _add(buf, start, x):
    end = min(buf.size, start + x.size)
    if end > start:
        buf[start:end] += x[:end - start]


def _key(rng):
    return int(rng.integers(57, 69)), (_MAJOR if rng.random() < 0.6 else _MINOR)


def _scale_notes(root, scale, lo, hi):
    return [m for m in range(lo, hi + 1) if (m - root) % 12 in scale]


def _chords(n, rng, gain=1.0):
    """A chord progression: triads and sevenths on scale degrees, 0.5-2.5 s each, in octaves 3-6."""
    buf = np.zeros(n)
    root, scale = _key(rng)
    pos = 0
    while pos < n:
        dur = int(rng.uniform(0.5, 2.5) * FS)
        degree = int(rng.integers(7))
        size = 4 if rng.random() < 0.3 else 3
        pcs = [root + scale[(degree + 2 * i) % 7] + 12 * ((degree + 2 * i) // 7) for i in range(size)]
        octave = 12 * int(rng.integers(-1, 2))
        timbre = ("strings", "organ", "piano", "brass", "clarinet", "flute")[rng.integers(6)]
        voicing = [p + octave for p in pcs] + [pcs[0] + octave - 12]  # doubled root below
        for m in voicing:
            _add(buf, pos, gain * rng.uniform(0.5, 1.0) * _tone(note_hz(m), dur + int(0.1 * FS), timbre, rng))
        pos += dur
        if rng.random() < 0.15:
            root, scale = _key(rng)  # modulate now and then
    return buf


def _drums(n, rng, gain=1.0):
    """A drum kit at 70-160 bpm: kick, snare, hi-hat and an occasional crash, with fills."""
    buf = np.zeros(n)
    pos = 0
    while pos < n:
        beat = int(60.0 / rng.uniform(70, 160) * FS)
        bar = np.zeros(4 * beat)
        fill = rng.random() < 0.15
        for step in range(8):
            at = step * beat // 2
            if step in (0, 4) or (fill and rng.random() < 0.5):
                _add(bar, at, gain * _kick(rng))
            if step in (2, 6) or (fill and rng.random() < 0.6):
                _add(bar, at, gain * _snare(rng))
            _add(bar, at, gain * 0.4 * _hat(rng, 0.05))
        if rng.random() < 0.1:
            _add(bar, 0, gain * 0.6 * _hat(rng, 1.2))  # crash cymbal
        _add(buf, pos, bar)
        pos += bar.size
    return buf


def _kick(rng):
    t = np.arange(int(0.25 * FS)) / FS
    f = 50.0 + 100.0 * np.exp(-t / 0.03)  # pitch falls 150 -> 50 Hz
    return np.sin(2 * np.pi * np.cumsum(f) / FS) * np.exp(-t / 0.08) * 2.0


def _snare(rng):
    t = np.arange(int(0.2 * FS)) / FS
    b, a = _signal.butter(2, [300.0, 3500.0], btype="band", fs=FS)
    noise = _signal.lfilter(b, a, rng.standard_normal(t.size))
    return (noise * 2.0 + 0.6 * np.sin(2 * np.pi * 185.0 * t)) * np.exp(-t / 0.05)


def _hat(rng, tau):
    t = np.arange(int(5 * tau * FS)) / FS
    b, a = _signal.butter(2, 2500.0, btype="high", fs=FS)
    return _signal.lfilter(b, a, rng.standard_normal(t.size)) * np.exp(-t / tau)


def _melody(n, rng):
    """A melody (C5-A6, notes 80-600 ms) over quieter chords and drums."""
    buf = _chords(n, rng, gain=0.3) + _drums(n, rng, gain=0.25)
    root, scale = _key(rng)
    notes = _scale_notes(root, scale, 72, 93)  # C5..A6: F5, A#5, E6, F#6 are all in range
    i = int(rng.integers(len(notes)))
    pos = 0
    while pos < n:
        timbre = _MELODY_TIMBRES[rng.integers(len(_MELODY_TIMBRES))]
        for _ in range(int(rng.integers(4, 16))):  # a phrase
            dur = int(rng.uniform(0.08, 0.6) * FS)
            i = int(np.clip(i + rng.integers(-3, 4), 0, len(notes) - 1))
            _add(buf, pos, _tone(note_hz(notes[i]), dur, timbre, rng))
            pos += dur
        pos += int(rng.uniform(0.0, 0.8) * FS)  # breath between phrases
    return buf


def _percussion(n, rng):
    """Drums with a bass line (root notes in octaves 2-3)."""
    buf = _drums(n, rng)
    root, scale = _key(rng)
    pos = 0
    while pos < n:
        dur = int(rng.uniform(0.15, 0.6) * FS)
        m = root - 24 + scale[rng.integers(7)]
        _add(buf, pos, 0.5 * _tone(note_hz(m), dur, ("strings", "piano", "organ")[rng.integers(3)], rng))
        pos += dur
    return buf


# Notes near the low-group and high-group DTMF frequencies (Q.23): F5..B5 and D6..A6.
_NEAR_ROW = range(77, 84)
_NEAR_COL = range(86, 94)


def _in_accept_band(midi, tones):
    """Whether a note lies within the receiver accept band of one of the tones: +-(1.5 % + 2 Hz)
    (Q.24 / ETSI, reference/telephony.md §6)."""
    f = float(note_hz(midi))
    return any(abs(f - t) <= 0.015 * t + 2.0 for t in tones)


_ROWS = (697.0, 770.0, 852.0, 941.0)  # Q.23 low group, Hz (reference/telephony.md §6)
_COLS = (1209.0, 1336.0, 1477.0, 1633.0)  # Q.23 high group, Hz
_DTMF_PAIRS = [(lo, hi) for lo in _NEAR_ROW for hi in _NEAR_COL
               if _in_accept_band(lo, _ROWS) and _in_accept_band(hi, _COLS)]
_NEAR_PAIRS = [(lo, hi) for lo in _NEAR_ROW for hi in _NEAR_COL if (lo, hi) not in _DTMF_PAIRS]


def _intervals(n, rng, pairs=None):
    """Sustained two-note intervals, 0.3-2 s: two thirds near the DTMF grid, one third anywhere."""
    buf = np.zeros(n)
    pos = 0
    while pos < n:
        dur = int(rng.uniform(0.3, 2.0) * FS)
        if pairs is not None:
            lo, hi = pairs[rng.integers(len(pairs))]
        elif rng.random() < 2.0 / 3.0:
            lo, hi = _NEAR_PAIRS[rng.integers(len(_NEAR_PAIRS))]
        else:
            lo = int(rng.integers(55, 84))
            hi = lo + int(rng.integers(3, 20))
        timbre = _MELODY_TIMBRES[rng.integers(len(_MELODY_TIMBRES))]
        for m in (lo, hi):
            _add(buf, pos, rng.uniform(0.6, 1.0) * _tone(note_hz(m), dur, timbre, rng))
        pos += dur + int(rng.uniform(0.05, 0.5) * FS)
    return buf


_MUSIC = {
    "chords": _chords,
    "melody": _melody,
    "percussion": _percussion,
    "intervals": _intervals,
    "dtmf-pairs": lambda n, rng: _intervals(n, rng, _DTMF_PAIRS),
}


# ---------------------------------------------------------------------------------------
# Rendering and the cache
# ---------------------------------------------------------------------------------------

def render(item):
    """Render one item: 8 kHz int16 samples at the item's active level (no codec yet)."""
    if item.material.startswith("speech-"):
        x = _speech(item)
    else:
        rng = np.random.default_rng(item.seed)
        x = _MUSIC[item.kind](int(round(item.seconds * FS)), rng)
    return _set_level(x, item.level_dbm0)


def default_cache_dir():
    """$XDG_CACHE_HOME/voiceboard-talkoff, or ~/.cache/voiceboard-talkoff."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "voiceboard-talkoff")


@dataclass
class Corpus:
    """Rendered items in a cache directory; :meth:`audio` reads one back."""
    items: list
    cache_dir: str
    rendered: int = 0  # how many items this build had to render (the rest came from the cache)

    def path(self, item):
        return os.path.join(self.cache_dir, item.key + ".wav")

    def audio(self, item):
        """The item's 8 kHz int16 samples, before the line codec."""
        rate, x = _wavfile.read(self.path(item))
        if rate != FS or x.dtype != np.int16:
            raise ValueError(f"{self.path(item)}: expected 8 kHz 16-bit, found {rate} Hz {x.dtype}")
        return x

    @property
    def seconds(self):
        """Seconds of audio per material."""
        out = {}
        for it in self.items:
            out[it.material] = out.get(it.material, 0.0) + it.seconds
        return out


def build_corpus(items, cache_dir=None, progress=None):
    """Render the items not yet in the cache; return the :class:`Corpus`.

    Parameters
    ----------
    items : list of :class:`Item` (see :func:`plan_corpus`)
    cache_dir : str, optional
        Default :func:`default_cache_dir`. Files are named by :attr:`Item.key`.
    progress : callable(done, total, item), optional
        Called after each item.
    """
    cache_dir = cache_dir or default_cache_dir()
    os.makedirs(cache_dir, exist_ok=True)
    corpus = Corpus(list(items), cache_dir)
    for i, item in enumerate(corpus.items):
        path = corpus.path(item)
        if not os.path.exists(path):
            tmp = f"{path}.{os.getpid()}.tmp"
            _wavfile.write(tmp, FS, render(item))
            os.replace(tmp, path)  # atomic: a half-written file never looks cached
            corpus.rendered += 1
        if progress:
            progress(i + 1, len(corpus.items), item)
    return corpus


# ---------------------------------------------------------------------------------------
# Measurement
# ---------------------------------------------------------------------------------------

CODECS = ("alaw", "linear")


def line(samples, codec="alaw"):
    """What the receiver gets from the line: an A-law round trip (China default) or linear."""
    if codec == "alaw":
        return dsp.alaw2lin(dsp.lin2alaw(samples))
    if codec == "linear":
        return np.asarray(samples, dtype=np.int16)
    raise ValueError(f"unknown codec {codec!r} (choose from {', '.join(CODECS)})")


def find_digits(samples, mode="normal"):
    """Run one receiver over a whole item as a channel would; return its completed digits.

    The samples are fed 0.5 s at a time so the receiver's event queue never overflows
    (checked: a dropped event raises RuntimeError).
    """
    x = np.asarray(samples, dtype=np.int16)
    events = []
    with dsp.DtmfDetector(mode) as det:
        for start in range(0, x.size, _CHUNK):
            events += det.feed(x[start:start + _CHUNK])
        events += det.finish()
        stats = det.stats
    if stats["events_dropped"]:
        raise RuntimeError(f"DTMF receiver dropped {stats['events_dropped']} events")
    return [e for e in events if e.kind == "off"]


@dataclass(frozen=True)
class FalseDigit:
    """One false digit with what the receiver measured (levels dBm0, twist dB, offsets Hz)."""
    material: str
    mode: str
    item: str
    time_s: float
    digit: str
    duration_ms: float
    row_dbm0: float
    col_dbm0: float
    twist_db: float
    row_offset_hz: float
    col_offset_hz: float


def rate_upper_bound(count, hours, confidence=0.95):
    """One-sided upper confidence limit of a Poisson rate (exact, chi-square form), per hour.

    With no event in T hours the 95 % limit is -ln(0.05)/T = 3.0/T.
    """
    return float(_stats.chi2.ppf(confidence, 2 * (count + 1)) / 2.0 / hours)


@dataclass
class Result:
    """False digits per material and mode over a corpus."""
    modes: tuple
    codec: str
    seconds: dict                                   # material -> seconds measured
    counts: dict                                    # (material, mode) -> false digits
    digits: list = field(default_factory=list)      # every FalseDigit

    def hours(self, material=None):
        """Hours measured, for one material or for all talk-off material."""
        if material is not None:
            return self.seconds[material] / 3600.0
        return sum(s for m, s in self.seconds.items() if not _is_reference(m)) / 3600.0

    def count(self, mode, material=None):
        """False digits in one material, or in all talk-off material (reference kinds excluded)."""
        return sum(c for (m, md), c in self.counts.items()
                   if md == mode and (m == material if material else not _is_reference(m)))

    def per_hour(self, mode, material=None):
        return self.count(mode, material) / self.hours(material)

    def table(self):
        """A plain-text table: per material, hours and false digits (per hour) per mode."""
        head = f"{'material':<20} {'hours':>7}" + "".join(f" {m + ' n (/h)':>20}" for m in self.modes)
        rows = [head, "-" * len(head)]
        materials = sorted(self.seconds, key=lambda m: (_is_reference(m), m))
        for m in materials + [None]:
            name = m if m else "all talk-off"
            if m and _is_reference(m):
                name += " (ref)"
            cells = "".join(f" {f'{self.count(md, m)} ({self.per_hour(md, m):.1f})':>20}" for md in self.modes)
            rows.append(f"{name:<20} {self.hours(m):7.3f}{cells}")
        bounds = ", ".join(f"{md} < {rate_upper_bound(self.count(md), self.hours()):.2f}/h"
                           for md in self.modes)
        rows.append(f"95 % upper limits over all talk-off material ({self.codec}): {bounds}")
        return "\n".join(rows)


def _is_reference(material):
    return material.split("-", 1)[1] in REFERENCE_KINDS


def measure(corpus, modes=tuple(dsp.DTMF_MODES), codec="alaw", progress=None):
    """Count the digits the receiver reports on every item of a corpus, per mode.

    Parameters
    ----------
    corpus : :class:`Corpus`
    modes : iterable of receiver presets (see :func:`voiceboard.dsp.dtmf_params`)
    codec : {"alaw", "linear"}
        Line codec the audio passes before the receiver.
    progress : callable(done, total, item), optional

    Returns
    -------
    :class:`Result`
    """
    modes = tuple(modes)
    result = Result(modes, codec, corpus.seconds, {(m, md): 0 for m in corpus.seconds for md in modes})
    for i, item in enumerate(corpus.items):
        x = line(corpus.audio(item), codec)
        for mode in modes:
            found = find_digits(x, mode)
            result.counts[item.material, mode] += len(found)
            result.digits += [FalseDigit(item.material, mode, item.key, round(e.start / FS, 3), e.digit,
                                         e.duration * 1000.0 / FS, e.row_dbm0, e.col_dbm0, e.twist_db,
                                         e.row_offset_hz, e.col_offset_hz) for e in found]
        if progress:
            progress(i + 1, len(corpus.items), item)
    return result


# ---------------------------------------------------------------------------------------
# Speech text: sentences and words written for this project
# ---------------------------------------------------------------------------------------

# Each language has bank-line sentences with number slots and a word list for free-running
# pseudo-sentences; together they give varied phonetics (vowels, fricatives, tones) rather
# than the same few phrases. Numbers are written as digits so espeak-ng reads them in the
# voice's own language. Mandarin is written in tone-numbered pinyin: the stock espeak-ng
# ``cmn`` dictionary lacks most common hanzi and spells them out in English, while the
# ``cmn-latn-pinyin`` voice reads pinyin with the same Mandarin phonemes and tones.
# Japanese is kana only for the same reason (kanji are read as "Chinese letter").
#
# Slots: {d} one digit, {n} a small count, {amount} an amount, {cents} two digits,
# {day} 1-28, {month} 1-12, {year} a year, {acct} an account number in groups,
# {phone} a phone number in groups, {time} a clock time.
LANGUAGES = {
    "cmn": {
        "voice": "cmn-latn-pinyin",
        "sentences": [
            "nin2 hao3, huan1 ying2 zhi4 dian4 ben3 hang2 ke4 fu2 zhong1 xin1.",
            "cha2 xun2 zhang4 hu4 yu2 e2 qing3 an4 {d}, zhuan3 zhang4 hui4 kuan3 qing3 an4 {d}.",
            "xin4 yong4 ka3 ye4 wu4 qing3 an4 {d}, gua4 shi1 qing3 an4 {d}.",
            "nin2 de5 zhang4 hu4 yu2 e2 wei2 ren2 min2 bi4 {amount} yuan2 {cents} fen1.",
            "qing3 shu1 ru4 nin2 de5 {n} wei4 mi4 ma3, yi3 jing3 hao4 jian4 jie2 shu4.",
            "nin2 yu2 {year} nian2 {month} yue4 {day} ri4 zhi1 chu1 {amount} yuan2.",
            "ren2 gong1 fu2 wu4 qing3 an4 ling2, fan3 hui2 shang4 yi4 ji2 cai4 dan1 qing3 an4 xing1 hao4 jian4.",
            "xie4 xie5 nin2 de5 lai2 dian4, zhu4 nin2 sheng1 huo2 yu2 kuai4, zai4 jian4.",
            "nin2 shu1 ru4 de5 ka3 hao4 shi4 {acct}, que4 ren4 qing3 an4 {d}, chong2 xin1 shu1 ru4 qing3 an4 {d}.",
            "ru2 you3 yi2 wen4, qing3 bo1 da3 fu2 wu4 re4 xian4 {phone}.",
            "xian4 zai4 shi4 {time}, zuo4 xi2 mang2, qing3 shao1 hou4.",
            "nin2 de5 dai4 kuan3 jiang1 yu2 {month} yue4 {day} ri4 dao4 qi1, ying1 huan2 jin1 e2 {amount} yuan2.",
        ],
        "words": "jin1 tian1 ming2 tian1 tian1 qi4 hen3 hao3 wo3 men5 ni3 ta1 qu4 lai2 shang1 dian4 "
                 "mai3 dong1 xi1 peng2 you3 gong1 zuo4 xue2 xiao4 lao3 shi1 xue2 sheng1 chi1 fan4 he1 "
                 "cha2 kan4 shu1 shui4 jiao4 zhong1 guo2 bei3 jing1 shang4 hai3 guang3 zhou1 che1 zhan4 "
                 "fei1 ji1 huo3 che1 xi3 huan1 yin1 yue4 dian4 ying3 jia1 ren2 hai2 zi5 qian2 yin2 hang2 "
                 "shi2 jian1 kuai4 man4 da4 xiao3 duo1 shao3 zhe4 ge5 na4 li3 wei4 shen2 me5 ke3 yi3".split(),
    },
    "yue": {
        "voice": "yue",
        "sentences": [
            "你好，歡迎致電本行客戶服務熱線。",
            "查詢戶口結餘請按{d}，轉賬請按{d}，信用卡服務請按{d}。",
            "你嘅戶口結餘係港幣{amount}元{cents}仙。",
            "請輸入你嘅{n}位密碼，然後按井字鍵。",
            "你喺{year}年{month}月{day}號提取咗{amount}元。",
            "如需接駁客戶服務主任，請按零。返回主目錄請按星號。",
            "多謝你嘅來電，祝你生活愉快，再見。",
            "你輸入嘅卡號係{acct}，確認請按{d}，重新輸入請按{d}。",
            "如有查詢，請致電{phone}。",
            "而家時間係{time}，所有服務主任都忙緊，請稍候。",
        ],
        "words": "今日 聽日 天氣 好 我哋 你哋 佢 去 嚟 商場 買 嘢 朋友 返工 學校 老師 學生 食飯 飲茶 "
                 "睇書 瞓覺 香港 廣州 地鐵 巴士 飛機 鍾意 音樂 電影 屋企 細路 錢 銀行 時間 快 慢 "
                 "大 細 多 少 呢個 嗰度 點解 可以 唔該 早晨".split(),
    },
    "en-us": {
        "voice": "en-us",
        "sentences": [
            "Thank you for calling the bank's customer service line.",
            "For your account balance, press {d}. For transfers, press {d}. For credit cards, press {d}.",
            "Your available balance is {amount} dollars and {cents} cents.",
            "Please enter your {n} digit password, followed by the pound key.",
            "On {month}/{day}/{year} you withdrew {amount} dollars at an automated teller machine.",
            "To speak to a representative, press zero. To return to the main menu, press star.",
            "Thank you for your call. Have a wonderful day. Goodbye.",
            "You entered card number {acct}. If this is correct, press {d}. To re-enter, press {d}.",
            "If you have any questions, please call us at {phone}.",
            "It is now {time}. All of our agents are busy. Please stay on the line.",
            "Your loan payment of {amount} dollars is due on {month}/{day}.",
        ],
        "words": "the quick brown fox jumps over lazy dog morning evening weather coffee street window "
                 "garden mother father children school teacher history mountain river summer winter "
                 "yesterday tomorrow shopping market music theatre friendly thousand thirty forty "
                 "fifteen seven nine shoes judge vision treasure splash thrust rhythm whistle".split(),
    },
    "en-gb": {
        "voice": "en-gb",
        "sentences": [
            "Welcome to telephone banking. Calls may be recorded for training purposes.",
            "To hear your balance, press {d}. To pay a bill, press {d}. To report a lost card, press {d}.",
            "Your balance is {amount} pounds and {cents} pence, in credit.",
            "Please key in the {n} digit security number from the back of your card.",
            "Your last transaction, on the {day} of the month, was a payment of {amount} pounds.",
            "Sorry, I did not understand that. Please try again, or press the hash key to go back.",
            "You are number {n} in the queue. Your call is important to us.",
            "The sort code you entered was {acct}. Press {d} to confirm.",
            "Our opening hours are eight until eight. Our number is {phone}.",
        ],
        "words": "cheerful biscuit flat lorry queue autumn pavement holiday parliament weather rather "
                 "through thorough although kettle garden borough castle marmalade whisper thistle "
                 "sixpence fortnight rubbish schedule aluminium petrol motorway jumper".split(),
    },
    "de": {
        "voice": "de",
        "sentences": [
            "Herzlich willkommen beim Telefonbanking Ihrer Bank.",
            "Für Ihren Kontostand drücken Sie die {d}. Für Überweisungen drücken Sie die {d}.",
            "Ihr Kontostand beträgt {amount} Euro und {cents} Cent.",
            "Bitte geben Sie Ihre {n}stellige Geheimzahl ein und bestätigen Sie mit der Raute.",
            "Am {day}. {month}. {year} wurden {amount} Euro abgehoben.",
            "Um mit einem Mitarbeiter zu sprechen, drücken Sie die Null.",
            "Vielen Dank für Ihren Anruf. Auf Wiederhören.",
            "Sie haben die Kartennummer {acct} eingegeben. Ist das richtig, drücken Sie die {d}.",
            "Unsere Servicenummer lautet {phone}.",
            "Es ist jetzt {time} Uhr. Alle Mitarbeiter sind im Gespräch. Bitte warten Sie.",
        ],
        "words": "Straße Brücke Mädchen Schlüssel Eichhörnchen fröhlich Kirche Zeitung Bahnhof Wetter "
                 "Frühling Herbst Ärger Zucker Pfeffer Apfel Flughafen Quittung Geschäft zwölf "
                 "achtzehn Rechnung Versicherung schön müde gestern morgen Buch Stadt".split(),
    },
    "fr-fr": {
        "voice": "fr-fr",
        "sentences": [
            "Bienvenue sur le service de banque par téléphone.",
            "Pour connaître votre solde, tapez {d}. Pour un virement, tapez {d}.",
            "Le solde de votre compte est de {amount} euros et {cents} centimes.",
            "Veuillez saisir votre code secret à {n} chiffres, suivi de la touche dièse.",
            "Le {day}/{month}/{year}, vous avez retiré {amount} euros.",
            "Pour parler à un conseiller, tapez zéro. Pour revenir au menu principal, tapez étoile.",
            "Merci de votre appel. Au revoir et bonne journée.",
            "Vous avez saisi le numéro de carte {acct}. Pour confirmer, tapez {d}.",
            "Notre numéro de service client est le {phone}.",
            "Il est {time}. Tous nos conseillers sont occupés, merci de patienter.",
        ],
        "words": "bonjour grenouille écureuil soleil pluie fenêtre château boulangerie fromage voiture "
                 "oiseau feuille jeudi mercredi heureux pourquoi quatre-vingts soixante huit "
                 "chanson montagne rivière gare train journal famille enfant".split(),
    },
    "es": {
        "voice": "es",
        "sentences": [
            "Bienvenido a la banca telefónica.",
            "Para consultar su saldo, pulse {d}. Para transferencias, pulse {d}.",
            "El saldo de su cuenta es de {amount} euros con {cents} céntimos.",
            "Introduzca su clave de {n} dígitos seguida de la tecla almohadilla.",
            "El {day} del {month} de {year} retiró {amount} euros en un cajero.",
            "Para hablar con un agente, pulse cero. Para volver al menú principal, pulse asterisco.",
            "Gracias por su llamada. Que tenga un buen día.",
            "Ha introducido la tarjeta número {acct}. Si es correcto, pulse {d}.",
            "Puede llamarnos al {phone}.",
            "Son las {time}. Todos nuestros agentes están ocupados.",
        ],
        "words": "ferrocarril perro guitarra jueves mañana zapato cielo ciudad fútbol chocolate "
                 "jamón llave lluvia paella playa árbol niño año corazón ventana azúcar trece "
                 "quinientos cerveza mercado".split(),
    },
    "ru": {
        "voice": "ru",
        "sentences": [
            "Здравствуйте, вы позвонили в службу поддержки банка.",
            "Чтобы узнать баланс, нажмите {d}. Для переводов нажмите {d}.",
            "Баланс вашего счёта составляет {amount} рублей {cents} копеек.",
            "Введите ваш {n}-значный пин-код и нажмите решётку.",
            "{day} числа {month} месяца {year} года вы сняли {amount} рублей в банкомате.",
            "Чтобы поговорить с оператором, нажмите ноль. Для возврата в главное меню нажмите звёздочку.",
            "Спасибо за звонок. До свидания.",
            "Вы ввели номер карты {acct}. Если всё верно, нажмите {d}.",
            "Наш телефон горячей линии {phone}.",
            "Сейчас {time}. Все операторы заняты, пожалуйста, оставайтесь на линии.",
        ],
        "words": "здравствуйте щука жёлтый счастье вчера завтра шоссе подъезд хлеб молоко улица "
                 "солнце дождь зима лето мороз чай сахар площадь вокзал метро книга школа".split(),
    },
    "ja": {
        "voice": "ja",
        "sentences": [
            "おでんわ ありがとう ございます。",
            "ざんだかしょうかいは {d} ばんを、ふりこみは {d} ばんを おしてください。",
            "おきゃくさまの ざんだかは {amount} えんです。",
            "{n} けたの あんしょうばんごうを にゅうりょくして、シャープを おしてください。",
            "{month} がつ {day} にちに {amount} えんを ひきだしました。",
            "オペレーターに おつなぎする ばあいは ゼロを おしてください。",
            "ごりよう ありがとう ございました。しつれいいたします。",
            "カードばんごうは {acct} です。よろしければ {d} ばんを おしてください。",
            "おといあわせは {phone} まで おねがいします。",
            "ただいま でんわが こみあって おります。しょうしょう おまちください。",
        ],
        "words": "さくら やま かわ うみ そら あめ ゆき ともだち がっこう せんせい でんしゃ くるま "
                 "しんぶん ラーメン コーヒー テレビ きょう あした きのう おかね ぎんこう じかん "
                 "たのしい おいしい はやい".split(),
    },
    "hi": {
        "voice": "hi",
        "sentences": [
            "नमस्ते, बैंक की फ़ोन बैंकिंग सेवा में आपका स्वागत है।",
            "खाते की शेष राशि जानने के लिए {d} दबाएँ। पैसे भेजने के लिए {d} दबाएँ।",
            "आपके खाते में {amount} रुपये {cents} पैसे शेष हैं।",
            "कृपया अपना {n} अंकों का पिन डालें और हैश दबाएँ।",
            "दिनांक {day} महीना {month} वर्ष {year} को आपने {amount} रुपये निकाले।",
            "ग्राहक सेवा अधिकारी से बात करने के लिए शून्य दबाएँ।",
            "कॉल करने के लिए धन्यवाद। आपका दिन शुभ हो।",
            "आपने कार्ड नंबर {acct} डाला है। सही होने पर {d} दबाएँ।",
            "हमारा हेल्पलाइन नंबर {phone} है।",
            "अभी {time} बजे हैं। सभी अधिकारी व्यस्त हैं, कृपया प्रतीक्षा करें।",
        ],
        "words": "पानी खाना घर बाज़ार दोस्त स्कूल किताब आसमान बारिश गर्मी सर्दी सुबह शाम "
                 "रेलगाड़ी शहर गाँव परिवार बच्चे पैसा समय जल्दी धीरे".split(),
    },
    "ar": {
        "voice": "ar",
        "sentences": [
            "مرحبا بكم في الخدمة المصرفية الهاتفية.",
            "لمعرفة رصيد حسابك اضغط {d}. للتحويلات اضغط {d}.",
            "رصيد حسابك هو {amount} ريال و {cents} هللة.",
            "الرجاء إدخال الرقم السري المكون من {n} أرقام ثم اضغط المربع.",
            "في يوم {day} من الشهر {month} سنة {year} قمت بسحب {amount} ريال.",
            "للتحدث مع موظف خدمة العملاء اضغط صفر.",
            "شكرا لاتصالك. مع السلامة.",
            "رقم البطاقة الذي أدخلته هو {acct}. للتأكيد اضغط {d}.",
            "رقم الهاتف المجاني هو {phone}.",
            "الساعة الآن {time}. جميع الموظفين مشغولون، يرجى الانتظار.",
        ],
        "words": "كتاب مدرسة بيت سيارة شمس قمر ماء خبز سوق صديق مدينة بحر جبل صباح مساء "
                 "قهوة شاي عائلة طفل وقت".split(),
    },
    "vi": {
        "voice": "vi",
        "sentences": [
            "Xin chào quý khách, cảm ơn quý khách đã gọi đến ngân hàng.",
            "Để kiểm tra số dư, xin bấm phím {d}. Để chuyển khoản, xin bấm phím {d}.",
            "Số dư tài khoản của quý khách là {amount} đồng.",
            "Xin nhập mã số bí mật gồm {n} chữ số, sau đó bấm phím thăng.",
            "Ngày {day} tháng {month} năm {year}, quý khách đã rút {amount} đồng.",
            "Để gặp nhân viên tư vấn, xin bấm phím không.",
            "Cảm ơn quý khách đã gọi điện. Xin chào và hẹn gặp lại.",
            "Số thẻ quý khách vừa nhập là {acct}. Nếu đúng, xin bấm phím {d}.",
            "Số điện thoại đường dây nóng là {phone}.",
            "Bây giờ là {time}. Tất cả nhân viên đều đang bận.",
        ],
        "words": "trời mưa nắng nhà cửa trường học bạn bè phở cà phê chợ sông núi biển thành phố "
                 "xe máy buổi sáng buổi tối gia đình con cái tiền thời gian nhanh chậm".split(),
    },
}
