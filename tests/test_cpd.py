"""Call-progress detector: region tones, cadence discrimination under jitter, silence, voice,
talk-off (speech and DTMF) and stream-cut invariance.

Signals come from numpy (tests/signals.py sines with seeded random phases) and from espeak-ng
speech, never from the project's own tone generator.
"""
import os
import subprocess
import wave

import numpy as np
import pytest
from scipy.signal import resample_poly

from voiceboard import dsp
from voiceboard._native import ffi, lib

import signals

FS = 8000
MS = FS // 1000
BLOCK = lib.VB_CPD_BLOCK

# Cadences written out from telephony.md 4.1, independently of voiceboard/data/tones.yaml.
CN = {
    "busy": [((450,), 350), (None, 350)],
    "congestion": [((450,), 700), (None, 700)],
    "ringback": [((450,), 1000), (None, 4000)],
    "sit": [((450,), 100), (None, 100)] * 3 + [((450,), 400), (None, 400)],
    "call_waiting": [((450,), 400), (None, 4000)],
    "record": [((950,), 400), (None, 10000)],
}


def burst(freqs, n, rng, level=-10.0, offset_hz=0.0):
    if not freqs:
        return np.zeros(n)
    return sum(signals.sine(f + offset_hz, None, level, rng, n) for f in freqs)


def cadence(rng, elements, cycles, jitter=0.0, level=-10.0, offset_hz=0.0, noise_dbm0=-55.0):
    """int16 samples of ``cycles`` repetitions of (freqs or None, ms) elements.

    Each element's duration is drawn within +-jitter (relative) of nominal; each burst gets a
    random phase; white noise at noise_dbm0 is added throughout.
    """
    parts = []
    for _ in range(cycles):
        for freqs, ms in elements:
            scale = rng.uniform(1 - jitter, 1 + jitter) if jitter else 1.0
            parts.append(burst(freqs, int(round(ms * scale * MS)), rng, level, offset_hz))
    x = np.concatenate(parts)
    return signals.to_int16(x + signals.white_noise(len(x), noise_dbm0, rng))


def tone_events(events):
    return [e.tone for e in events if e.kind == "tone"]


def detect(x, region="cn", **opts):
    with dsp.CallProgressDetector(region, **opts) as cpd:
        return cpd.feed(x)


@pytest.fixture(scope="module")
def speech():
    """Mandarin speech from espeak-ng, resampled to 8 kHz, active level about -20 dBm0."""
    path = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"vb_cpd_speech_{os.getpid()}.wav")
    text = "您好，欢迎致电银行客户服务热线。查询余额请按一，转账汇款请按二，人工服务请按零。"
    try:
        # Without a sanitizer preload (VB_NATIVE_DEBUG runs): it is meant for python, not espeak-ng.
        env = {k: v for k, v in os.environ.items() if k != "LD_PRELOAD"}
        subprocess.run(["espeak-ng", "-v", "cmn", "-w", path, text], check=True, capture_output=True, timeout=60,
                       env=env)
        with wave.open(path) as w:
            rate = w.getframerate()
            x = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(float)
    finally:
        if os.path.exists(path):
            os.remove(path)
    assert rate == 22050
    x = resample_poly(x, 160, 441)
    active = x[np.abs(x) > 0.05 * np.abs(x).max()]
    x *= signals.DBM0_RMS * 10 ** (-20 / 20) / np.sqrt(np.mean(active ** 2))
    return x


# ---- each tone of the cn table, and some of us/uk/de ----------------------------------------

@pytest.mark.parametrize("name, cycles, latest_ms", [
    ("busy", 6, 4 * 700 + 60),
    ("congestion", 6, 4 * 1400 + 60),
    ("ringback", 2, 5000 + 60),
    ("sit", 2, 1400 + 60),
    ("call_waiting", 2, 4400 + 60),
    ("record", 2, 10400 + 60),
])
def test_cn_cadenced_tones(name, cycles, latest_ms, rng):
    x = cadence(rng, CN[name], cycles)
    events = detect(x)
    tones = [e for e in events if e.kind == "tone"]
    assert [e.tone for e in tones] == [name]
    assert tones[0].position <= latest_ms * MS
    assert tones[0].start <= BLOCK                         # the match begins with the first burst
    assert all(e.kind != "voice" for e in events)


def test_cn_dial_tone(rng):
    x = cadence(rng, [((450,), 3000)], 1)
    events = detect(x)
    assert [(e.kind, e.tone) for e in events] == [("tone", "dial")]
    assert 2000 * MS <= events[0].position <= 2000 * MS + 2 * BLOCK
    assert events[0].start == 0
    # continuous_ms is a setting.
    assert detect(x, continuous_ms=1500)[0].position <= 1500 * MS + 2 * BLOCK


def test_ringback_is_not_dial_tone(rng):
    x = cadence(rng, CN["ringback"], 3)
    assert tone_events(detect(x)) == ["ringback"]


@pytest.mark.parametrize("region, name, elements, cycles", [
    ("us", "busy", [((480, 620), 500), (None, 500)], 6),
    ("us", "ringback", [((440, 480), 2000), (None, 4000)], 2),
    ("us", "dial", [((350, 440), 2500)], 1),
    ("us", "congestion", [((480, 620), 250), (None, 250)], 6),
    ("uk", "congestion", [((400,), 400), (None, 350), ((400,), 225), (None, 525)], 3),
    ("uk", "busy", [((400,), 375), (None, 375)], 6),
    ("de", "sit", [((950,), 330), ((1400,), 330), ((1800,), 330), (None, 1000)], 2),
    ("us", "sit", [((950,), 330), ((1400,), 330), ((1800,), 330), (None, 1000)], 1),
])
def test_other_regions(region, name, elements, cycles, rng):
    x = cadence(rng, elements, cycles)
    assert tone_events(detect(x, region)) == [name]


def test_us_call_waiting_440_is_not_ringback_440_480(rng):
    x = cadence(rng, [((440,), 300), (None, 10000)], 2)
    assert tone_events(detect(x, "us")) == ["call_waiting"]


# ---- busy against congestion: same frequency, cadence only --------------------------------

@pytest.mark.parametrize("law", [None, "alaw", "ulaw"])
def test_busy_and_congestion_apart_under_jitter(law, rng):
    for _ in range(4):
        level = rng.uniform(-30, -7)
        offset = rng.uniform(-15, 15)
        for name in ("busy", "congestion"):
            x = signals.codec_munge(cadence(rng, CN[name], 6, jitter=0.10, level=level, offset_hz=offset), law)
            assert tone_events(detect(x)) == [name], (name, level, offset)


def test_jitter_tolerance_is_a_setting(rng):
    # 25 % long bursts and gaps: outside +-10 % + 20 ms, inside +-30 %.
    x = cadence(rng, [((450,), 350 * 1.25), (None, 350 * 1.25)], 6)
    assert tone_events(detect(x)) == []
    assert tone_events(detect(x, jitter_pct=30)) == ["busy"]


def test_weak_tone_and_frequency_offset(rng):
    # -39 dBm0: the weakest cn tone after 26 dB of line loss (cpd.c); 450 +- 20 Hz.
    for offset in (-20, 20):
        x = cadence(rng, CN["busy"], 6, level=-39.0, offset_hz=offset, noise_dbm0=-65)
        assert tone_events(detect(x)) == ["busy"], offset
    # An off-table frequency with a busy rhythm is not busy.
    x = cadence(rng, [((600,), 350), (None, 350)], 6)
    assert tone_events(detect(x)) == []


# ---- silence and voice ------------------------------------------------------------------

def test_silence(rng):
    x = signals.to_int16(signals.white_noise(3 * FS, -60.0, rng))
    events = detect(x)
    assert [e.kind for e in events] == ["silence"]
    assert 2500 * MS <= events[0].position <= 2500 * MS + BLOCK
    assert [e.kind for e in detect(x, silence_ms=1000)] == ["silence"]
    assert detect(x, silence_ms=1000)[0].position <= 1000 * MS + BLOCK


def test_voice_from_speech(speech):
    events = detect(signals.to_int16(speech))
    assert tone_events(events) == []
    voice = [e for e in events if e.kind == "voice"]
    assert voice
    first = np.flatnonzero(np.abs(speech) > signals.amplitude(-42.0))[0]
    assert first - BLOCK <= voice[0].start <= first + 200 * MS
    assert voice[0].position <= voice[0].start + 100 * MS + 2 * BLOCK


def test_no_busy_from_speech_with_a_busy_rhythm(speech):
    """Speech switched on and off at the busy cadence: the rhythm matches, the frequency not."""
    for on_ms, off_ms in ((350, 350), (700, 700), (500, 500)):
        gate = (np.arange(len(speech)) // MS) % (on_ms + off_ms) < on_ms
        events = detect(signals.to_int16(speech * gate))
        assert tone_events(events) == [], (on_ms, off_ms)


def test_no_tone_from_dtmf_digit_strings(rng):
    keys = np.array(list(signals.KEYPAD))
    for on_ms, off_ms in ((50, 50), (100, 100), (350, 350), (700, 700), (480, 620)):
        digits = "".join(rng.choice(keys, 16))
        x = signals.to_int16(signals.digit_string(digits, rng, on_ms=on_ms, off_ms=off_ms))
        assert tone_events(detect(x)) == [], (digits, on_ms, off_ms)
    # The same rhythm with 450 Hz is busy: the rhythm alone is not what is rejected.
    assert tone_events(detect(cadence(rng, CN["busy"], 6))) == ["busy"]


# ---- streaming --------------------------------------------------------------------------

def test_block_size_invariance(rng, speech):
    x = np.concatenate([
        cadence(rng, [((450,), 2500)], 1),
        cadence(rng, [(None, 3000)], 1),
        cadence(rng, CN["busy"], 6),
        signals.to_int16(speech[:3 * FS]),
        cadence(rng, CN["congestion"], 5),
        cadence(rng, CN["sit"], 2),
    ])
    whole = detect(x)
    assert tone_events(whole) == ["dial", "busy", "congestion", "sit"]
    assert [e.kind for e in whole].count("silence") == 1
    assert "voice" in [e.kind for e in whole]
    for sizes in (rng.integers(1, 700, size=len(x)), [1], [BLOCK], [BLOCK + 1], [37]):
        with dsp.CallProgressDetector("cn") as cpd:
            events, i, k = [], 0, 0
            while i < len(x):
                n = int(sizes[k % len(sizes)])
                events += cpd.feed(x[i:i + n])
                i += n
                k += 1
        assert events == whole


def test_busy_reported_once_while_it_lasts(rng):
    events = detect(cadence(rng, CN["busy"], 20))
    assert tone_events(events) == ["busy"]
    # It is reported again after it stops and starts again.
    x = np.concatenate([cadence(rng, CN["busy"], 6), cadence(rng, [(None, 1000)], 1), cadence(rng, CN["busy"], 6)])
    assert tone_events(detect(x)) == ["busy", "busy"]


def test_watch_some_tones_only(rng):
    x = cadence(rng, CN["busy"], 6)
    with dsp.CallProgressDetector("cn", tones=["congestion", "busy"]) as cpd:
        assert cpd.tones == ["congestion", "busy"]
        assert tone_events(cpd.feed(x)) == ["busy"]
    assert tone_events(detect(x, tones=["congestion"])) == []


def test_python_errors():
    with pytest.raises(ValueError, match="cn, us, uk, de"):
        dsp.CallProgressDetector("xx")
    with pytest.raises(ValueError, match="dial, busy"):
        dsp.CallProgressDetector("cn", tones=["engaged"])
    with pytest.raises(ValueError, match="unknown call-progress parameter.*jitter"):
        dsp.CallProgressDetector("cn", jiter_pct=10)
    with pytest.raises(ValueError, match="out of range"):
        dsp.CallProgressDetector("cn", jitter_pct=80)
    cpd = dsp.CallProgressDetector()
    cpd.close()
    cpd.close()
    with pytest.raises(ValueError, match="closed"):
        cpd.feed(np.zeros(10, np.int16))


# ---- the C API's documented return values ---------------------------------------------------

def pattern(elements, cycles=1, cyclic=1):
    p = ffi.new("vb_cpd_pattern_t *")
    p.n, p.cycles, p.cyclic = len(elements), cycles, cyclic
    for i, (f1, f2, ms) in enumerate(elements):
        p.e[i].f1_hz, p.e[i].f2_hz, p.e[i].ms = f1, f2, ms
    return p


def test_c_api_return_values(rng):
    params = ffi.new("vb_cpd_params_t *")
    assert lib.vb_cpd_default_params(params) == lib.VB_OK
    assert (params.jitter_pct, params.slack_ms, params.continuous_ms, params.silence_ms, params.voice_ms) == \
        (10, 20, 2000, 2500, 100)
    for field, value in (("jitter_pct", 51), ("max_twist_db", 0), ("tone_share_db", 1), ("silence_ms", 0),
                         ("slack_ms", -1), ("min_tone_dbm0", 4)):
        bad = ffi.new("vb_cpd_params_t *", {k: getattr(params, k) for k in dsp.cpd_params()})
        setattr(bad, field, value)
        assert lib.vb_cpd_init(ffi.NULL, bad) == ffi.NULL, field
    s = lib.vb_cpd_init(ffi.NULL, ffi.NULL)
    try:
        busy = pattern([(450, 0, 350), (0, 0, 350)], cycles=4)
        assert lib.vb_cpd_add_pattern(s, busy) == 0
        assert lib.vb_cpd_add_pattern(s, pattern([(450, 0, 0)])) == 1        # continuous
        bad = [pattern([]), pattern([(450, 0, 350), (0, 0, 350)], cycles=0),
               pattern([(450, 0, 350), (0, 0, 350)], cycles=33),            # 66 > VB_CPD_HISTORY
               pattern([(450, 0, 350), (450, 0, 350)]),                     # equal neighbours
               pattern([(450, 0, 350), (0, 0, 350), (450, 0, 200)]),         # equal across the wrap
               pattern([(0, 0, 0)]), pattern([(450, 0, 0), (0, 0, 350)]),    # zero duration
               pattern([(4000, 0, 100), (0, 0, 100)]), pattern([(0, 450, 100), (450, 0, 100)]),
               pattern([(450, 0, -5), (0, 0, 100)])]
        for p in bad:
            assert lib.vb_cpd_add_pattern(s, p) == lib.VB_ERR_INVALID
        # Played once, a repeated first and last element is allowed (no wrap).
        assert lib.vb_cpd_add_pattern(s, pattern([(450, 0, 350), (0, 0, 350), (450, 0, 350)], cyclic=0)) == 2
        # Two bursts per cycle (uk congestion style).
        two = pattern([(450, 0, 350), (0, 0, 350), (450, 0, 200), (0, 0, 350)])
        assert lib.vb_cpd_add_pattern(s, two) == 3
        for i in range(4, lib.VB_CPD_MAX_PATTERNS):
            assert lib.vb_cpd_add_pattern(s, pattern([(450, 0, 100 + i), (0, 0, 100)])) == i
        assert lib.vb_cpd_add_pattern(s, pattern([(450, 0, 99), (0, 0, 100)])) == lib.VB_ERR_FULL
    finally:
        lib.vb_cpd_free(s)

    s = lib.vb_cpd_init(ffi.NULL, ffi.NULL)
    try:
        def pairs(k):   # k tone pairs (2k frequencies) separated by silences
            return pattern([(300 + 100 * i, 400 + 100 * i, 100) if i % 2 == 0 else (0, 0, 100)
                            for i in range(2 * k - 1)], cyclic=0)
        assert lib.vb_cpd_add_pattern(s, pairs(9)) == lib.VB_ERR_FULL   # 16 frequencies fit, not 18
        assert lib.vb_cpd_add_pattern(s, pairs(8)) == 0
        x = signals.to_int16(signals.white_noise(100, -60, rng))
        assert lib.vb_cpd_rx(s, ffi.cast("int16_t *", ffi.from_buffer(x)), len(x)) == 0
        assert lib.vb_cpd_rx(s, ffi.cast("int16_t *", ffi.from_buffer(x)), 0) == 0
        assert lib.vb_cpd_add_pattern(s, busy) == lib.VB_ERR_STATE
        ev = ffi.new("vb_cpd_event_t[4]")
        assert lib.vb_cpd_get(s, ev, 4) == 0
        assert lib.vb_cpd_events_dropped(s) == 0
        assert lib.vb_cpd_state_size() > 0
        # Initialising a state in use resets it: no patterns, patterns may be added again.
        assert lib.vb_cpd_init(s, ffi.NULL) == s
        assert lib.vb_cpd_add_pattern(s, busy) == 0
        assert lib.vb_cpd_release(s) == lib.VB_OK
    finally:
        assert lib.vb_cpd_free(s) == lib.VB_OK


def test_c_events_queue_and_drop_count(rng):
    s = lib.vb_cpd_init(ffi.NULL, ffi.NULL)
    try:
        # 40 silences of 2.6 s split by 200 ms of noise: 40 silence and 40 voice events.
        quiet = np.zeros(2600 * MS, dtype=np.int16)
        loud = signals.to_int16(signals.white_noise(200 * MS, -20.0, rng))
        x = np.concatenate([quiet, loud] * 40)
        assert lib.vb_cpd_rx(s, ffi.cast("int16_t *", ffi.from_buffer(x)), len(x)) == 0
        ev = ffi.new("vb_cpd_event_t[64]")
        got = lib.vb_cpd_get(s, ev, 64)
        assert got == 32                                    # the queue keeps the newest 32
        assert lib.vb_cpd_events_dropped(s) == 80 - 32
        assert lib.vb_cpd_get(s, ev, 64) == 0
        kinds = {ev[i].kind for i in range(got)}
        assert kinds == {lib.VB_CPD_SILENCE, lib.VB_CPD_VOICE}
        assert all(ev[i].pattern == -1 for i in range(got))
        assert ev[got - 1].position == len(x) - len(loud) + 100 * MS
    finally:
        lib.vb_cpd_free(s)
