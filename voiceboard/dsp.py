"""Python face of the native DSP core; the only module that imports ``voiceboard._native``.

API overview
------------
G.711:
    :func:`lin2alaw`, :func:`alaw2lin`, :func:`lin2ulaw`, :func:`ulaw2lin`,
    :func:`alaw2ulaw`, :func:`ulaw2alaw` -- on numpy arrays (returned as arrays) or on
    bytes-like objects (s16le for linear; returned as bytes).
DTMF:
    :class:`DtmfDetector` (streaming receiver, one per channel), :class:`DtmfEvent`,
    :func:`detect_dtmf` (a whole buffer at once).
Tones and call progress:
    :class:`ToneGenerator`, :func:`tone_samples`, :func:`dtmf_samples` (generators);
    :class:`CallProgressDetector`, :class:`CpdEvent`, :func:`cpd_params` (detector).

Every object owns one C state: ``close()`` frees it, ``with`` closes it, and ``ffi.gc`` is
only a safety net. Each object must be used from one thread at a time; the GIL is released
inside C.
"""
from dataclasses import dataclass

import numpy as _np

from voiceboard._native import ffi as _ffi, lib as _lib
from voiceboard.errors import NativeError

SAMPLE_RATE = _lib.VB_SAMPLE_RATE
DTMF_DIGITS = "0123456789*#ABCD"


def _check(rc, msg=""):
    """Return non-negative results; raise NativeError for a VB_ERR_* code."""
    if rc >= 0:
        return rc
    text = _ffi.string(_lib.vb_strerror(rc)).decode()
    raise NativeError(f"{msg}: {text}" if msg else text, rc)


def _as_array(data, dtype):
    """A C-contiguous numpy view of data: an array is converted, a bytes-like is viewed."""
    if isinstance(data, _np.ndarray):
        return _np.ascontiguousarray(data, dtype=dtype), True
    view = memoryview(data).cast("B")
    if len(view) % _np.dtype(dtype).itemsize:
        raise ValueError(f"buffer length {len(view)} is not a whole number of {_np.dtype(dtype).name} samples")
    return _np.frombuffer(view, dtype=dtype), False


def _convert(fn, data, in_type, out_type, in_c, out_c):
    src, was_array = _as_array(data, in_type)
    out = _np.empty(src.shape, dtype=out_type)
    if src.size:
        fn(_ffi.cast(out_c + " *", _ffi.from_buffer(out)), _ffi.cast("const " + in_c + " *", _ffi.from_buffer(src)),
           src.size)
    return out if was_array else out.tobytes()


def lin2alaw(samples):
    """Encode 16-bit linear samples to A-law (ITU-T G.711, bit-exact to G.191).

    Parameters
    ----------
    samples : numpy array (converted to int16) or bytes-like (s16le)

    Returns
    -------
    numpy.ndarray of uint8 for an array input, bytes otherwise.
    """
    return _convert(_lib.vb_lin2alaw, samples, _np.int16, _np.uint8, "int16_t", "uint8_t")


def alaw2lin(codes):
    """Decode A-law code words to 16-bit linear (int16 array, or s16le bytes for bytes input)."""
    return _convert(_lib.vb_alaw2lin, codes, _np.uint8, _np.int16, "uint8_t", "int16_t")


def lin2ulaw(samples):
    """Encode 16-bit linear samples to mu-law (G.711, bit-exact to G.191)."""
    return _convert(_lib.vb_lin2ulaw, samples, _np.int16, _np.uint8, "int16_t", "uint8_t")


def ulaw2lin(codes):
    """Decode mu-law code words to 16-bit linear."""
    return _convert(_lib.vb_ulaw2lin, codes, _np.uint8, _np.int16, "uint8_t", "int16_t")


def alaw2ulaw(codes):
    """Transcode A-law to mu-law by G.711 Table 4 (not decode-then-encode)."""
    return _convert(_lib.vb_alaw2ulaw, codes, _np.uint8, _np.uint8, "uint8_t", "uint8_t")


def ulaw2alaw(codes):
    """Transcode mu-law to A-law by G.711 Table 3 (not decode-then-encode)."""
    return _convert(_lib.vb_ulaw2alaw, codes, _np.uint8, _np.uint8, "uint8_t", "uint8_t")


def _samples_i16(samples):
    """int16 C-contiguous view of samples (numpy array, or s16le bytes-like)."""
    arr, _ = _as_array(samples, _np.int16)
    return arr.reshape(-1)


# ----------------------------------------------------------------------------------------
# DTMF receiver
# ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class DtmfEvent:
    """One digit report. ``kind`` is "on" (recognised; ``end`` is None) or "off" (ended).

    Positions are sample indexes since the detector was created (8 kHz); levels in dBm0;
    ``twist_db`` is row minus column level; offsets are measured minus nominal frequency.
    """
    kind: str
    digit: str
    start: int
    end: int | None
    row_dbm0: float
    col_dbm0: float
    twist_db: float
    row_offset_hz: float
    col_offset_hz: float

    @property
    def duration(self):
        """Tone duration in samples (None for an "on" event)."""
        return None if self.end is None else self.end - self.start


DTMF_MODES = {
    "normal": _lib.VB_DTMF_MODE_NORMAL,
    "sensitive": _lib.VB_DTMF_MODE_SENSITIVE,
    "strict": _lib.VB_DTMF_MODE_STRICT,
}
_DTMF_PARAMS = ("min_level_dbm0", "normal_twist_db", "reverse_twist_db", "tone_share_db",
                "freq_tolerance_pct", "freq_tolerance_hz", "min_on_ms", "min_off_ms")


def dtmf_params(mode="normal", **overrides):
    """The receiver settings of a preset, with overrides, as a dict.

    Parameters
    ----------
    mode : {"normal", "sensitive", "strict"}
        Talk-off resistance against acceptance margin (like Asterisk's relaxdtmf or Donjin's
        NORMAL/QUICK/SLOW).
    **overrides
        Any of min_level_dbm0, normal_twist_db, reverse_twist_db, tone_share_db,
        freq_tolerance_pct, freq_tolerance_hz, min_on_ms, min_off_ms.
    """
    if mode not in DTMF_MODES:
        raise ValueError(f"unknown DTMF mode {mode!r} (choose from {', '.join(DTMF_MODES)})")
    unknown = set(overrides) - set(_DTMF_PARAMS)
    if unknown:
        raise ValueError(f"unknown DTMF parameter(s): {', '.join(sorted(unknown))}")
    p = _ffi.new("vb_dtmf_rx_params_t *")
    _check(_lib.vb_dtmf_rx_default_params(p, DTMF_MODES[mode]))
    params = {name: getattr(p, name) for name in _DTMF_PARAMS}
    params.update(overrides)
    return params


class DtmfDetector:
    """Streaming DTMF receiver for one channel (ITU-T Q.24 acceptance; see native/include/vb/dtmf.h).

    Results do not depend on how the stream is cut: feed 1 sample or minutes at a time.

    Parameters
    ----------
    mode : {"normal", "sensitive", "strict"}
    **overrides
        Settings as in :func:`dtmf_params`.

    Examples
    --------
    >>> with DtmfDetector() as det:                              # doctest: +SKIP
    ...     events = det.feed(samples) + det.finish()
    ...     digits = "".join(e.digit for e in events if e.kind == "off")
    """

    _state = _ffi.NULL  # avoids confusion if __init__ fails before the state exists

    def __init__(self, mode="normal", **overrides):
        params = dtmf_params(mode, **overrides)
        p = _ffi.new("vb_dtmf_rx_params_t *", params)
        state = _lib.vb_dtmf_rx_init(_ffi.NULL, p)
        if state == _ffi.NULL:
            raise ValueError(f"DTMF parameters out of range: {params}")
        self._state = _ffi.gc(state, _lib.vb_dtmf_rx_free)
        self._events = _ffi.new("vb_dtmf_event_t[]", 32)
        self.params = params

    def close(self):
        """Free the C state (idempotent)."""
        if self._state != _ffi.NULL:
            _ffi.release(self._state)
            self._state = _ffi.NULL

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _live(self):
        if self._state == _ffi.NULL:
            raise ValueError("DTMF detector is closed")
        return self._state

    def feed(self, samples):
        """Process 8 kHz linear samples; return the events they completed, oldest first."""
        state = self._live()
        arr = _samples_i16(samples)
        if arr.size:
            _lib.vb_dtmf_rx(state, _ffi.cast("const int16_t *", _ffi.from_buffer(arr)), arr.size)
        return self._drain()

    def fillin(self, samples):
        """Account for ``samples`` lost samples (treated as silence)."""
        _lib.vb_dtmf_rx_fillin(self._live(), int(samples))
        return self._drain()

    def finish(self):
        """Feed enough silence to end a digit still held; return the events."""
        return self.fillin(SAMPLE_RATE * (self.params["min_off_ms"] + 20) // 1000)

    def _drain(self):
        events = []
        while True:
            n = _lib.vb_dtmf_rx_get(self._state, self._events, 32)
            for i in range(n):
                e = self._events[i]
                on = e.kind == _lib.VB_DTMF_ON
                events.append(DtmfEvent("on" if on else "off", e.digit.decode(), e.start,
                                        None if on else e.end, round(e.row_dbm0, 2), round(e.col_dbm0, 2),
                                        round(e.twist_db, 2), round(e.row_offset_hz, 2),
                                        round(e.col_offset_hz, 2)))
            if n < 32:
                return events

    @property
    def current(self):
        """The digit held now, or "" when none."""
        d = _lib.vb_dtmf_rx_current(self._live())
        return chr(d) if d else ""

    @property
    def stats(self):
        """Counters: samples, digits, rejected_short, events_dropped."""
        st = _ffi.new("vb_dtmf_rx_stats_t *")
        _lib.vb_dtmf_rx_get_stats(self._live(), st)
        return {name: getattr(st, name) for name in ("samples", "digits", "rejected_short", "events_dropped")}


def detect_dtmf(samples, mode="normal", **overrides):
    """Run a fresh receiver over a whole buffer; return the completed digits ("off" events)."""
    with DtmfDetector(mode, **overrides) as det:
        events = det.feed(samples) + det.finish()
    return [e for e in events if e.kind == "off"]


# ----------------------------------------------------------------------------------------
# Tone generation (DTMF and cadenced tones) and call-progress detection: tone.c, cpd.c
# ----------------------------------------------------------------------------------------
# Imported here rather than at the top so that this section merges on its own.
from voiceboard import tones as _tones  # noqa: E402


def _tone_segments(region, tone, level_dbm0):
    """Segments for a tone given by name (in ``region``), notation string, Tone or segments."""
    if isinstance(tone, _tones.Tone):
        if level_dbm0 is None:
            return tone.segments
        return _tones.parse_tone(tone.spec, level_dbm0, f"tone {tone.name!r}")
    if isinstance(tone, str):
        if tone in region.tones:
            return _tone_segments(region, region.tones[tone], level_dbm0)
        if tone[:1].isdigit() or tone[:1] == "!":
            level = region.level_dbm0 if level_dbm0 is None else level_dbm0
            return _tones.parse_tone(tone, level, f"tone {tone!r}")
        region.tone(tone)  # raises ValueError naming the valid tones
    segments = tuple(tone) if isinstance(tone, (list, tuple)) else ()
    if not segments or not all(isinstance(s, _tones.Segment) for s in segments):
        raise ValueError("tone must be a name, a notation string, a tones.Tone or a list of tones.Segment")
    return segments


class ToneGenerator:
    """Cadenced tone generator for one channel (see native/include/vb/tone.h).

    Tones are queued with :meth:`put` and played one after the other; a repeating tone gives
    way to the next queued one at the end of its cycle. Output is phase-continuous across
    :meth:`generate` calls, with 2 ms raised-cosine ramps at every edge from or to silence.

    Parameters
    ----------
    region : str, optional
        Region whose tone table resolves tone names (default: the default region, "cn").

    Examples
    --------
    >>> with ToneGenerator("cn") as gen:                         # doctest: +SKIP
    ...     gen.put("busy")
    ...     block = gen.generate(160)
    """

    _state = _ffi.NULL  # avoids confusion if __init__ fails before the state exists

    def __init__(self, region=None):
        self.region = _tones.region(region)
        state = _lib.vb_tone_tx_init(_ffi.NULL)
        if state == _ffi.NULL:
            raise MemoryError("cannot allocate a tone generator")
        self._state = _ffi.gc(state, _lib.vb_tone_tx_free)

    def close(self):
        """Free the C state (idempotent)."""
        if self._state != _ffi.NULL:
            _ffi.release(self._state)
            self._state = _ffi.NULL

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _live(self):
        if self._state == _ffi.NULL:
            raise ValueError("tone generator is closed")
        return self._state

    def put(self, tone, level_dbm0=None):
        """Queue a tone.

        Parameters
        ----------
        tone : str, tones.Tone or sequence of tones.Segment
            A tone name of the region ("dial", "busy", ...), a notation string such as
            "450/350,0/350" (telephony.md 4.1), or ready-made segments.
        level_dbm0 : float, optional
            Level of each frequency; default: the table's level.

        Raises
        ------
        ValueError
            Unknown name, bad notation, levels too high for 16 bits, too many segments.
        NativeError
            VB_ERR_FULL: VB_TONE_QUEUE tones already wait.
        """
        state = self._live()
        segments = _tone_segments(self.region, tone, level_dbm0)
        arr = _ffi.new("vb_tone_segment_t[]", [
            {"f1_hz": s.f1_hz, "f2_hz": s.f2_hz, "level1_dbm0": s.level1_dbm0,
             "level2_dbm0": s.level2_dbm0, "on_ms": s.on_ms, "off_ms": s.off_ms, "repeat": int(s.repeat)}
            for s in segments])
        rc = _lib.vb_tone_tx_put(state, arr, len(segments))
        if rc == _lib.VB_ERR_INVALID:
            label = tone if isinstance(tone, str) else getattr(tone, "name", "segments")
            raise ValueError(f"tone {label!r} rejected: more than {_lib.VB_TONE_MAX_SEGMENTS} segments, "
                             "or levels that together exceed 16-bit full scale")
        _check(rc, "tone queue")

    def stop(self):
        """End the tone playing (2 ms ramp-down) and drop the queued ones."""
        _lib.vb_tone_tx_stop(self._live())

    @property
    def active(self):
        """True while a tone is playing or queued."""
        return bool(_lib.vb_tone_tx_active(self._live()))

    def generate(self, n):
        """The next ``n`` samples (int16 array); silence after the last queued tone ends."""
        state = self._live()
        out = _np.zeros(int(n), dtype=_np.int16)
        if out.size:
            _lib.vb_tone_tx(state, _ffi.cast("int16_t *", _ffi.from_buffer(out)), out.size)
        return out


def tone_samples(name, region="cn", seconds=5.0, level_dbm0=None):
    """A region's tone, rendered: ``seconds`` of 8 kHz int16 samples (silence after a tone that ends).

    Raises
    ------
    ValueError
        Unknown region or tone name (the message lists the valid ones), negative duration.
    """
    if not seconds >= 0:
        raise ValueError(f"seconds must be >= 0, got {seconds!r}")
    tone = _tones.region(region).tone(name)
    with ToneGenerator(region) as gen:
        gen.put(tone, level_dbm0)
        return gen.generate(round(seconds * SAMPLE_RATE))


def dtmf_samples(digits, level_dbm0=-10.0, twist_db=0.0, on_ms=50, off_ms=50):
    """DTMF digits rendered as 8 kHz int16 samples (ITU-T Q.23 frequencies).

    Parameters
    ----------
    digits : str
        "0"-"9", "*", "#", "A"-"D" (any case); "," pauses for ``pause_ms``.
    level_dbm0 : float
        Level of the row (low-group) tone.
    twist_db : float
        Row level minus column level: positive makes the high group weaker.
    on_ms, off_ms : int
        Tone and gap per digit. A "," pauses for the generator's default (2000 ms,
        native/src/tone.c).

    Raises
    ------
    ValueError
        A character that is not a DTMF digit or ",", or levels/timings out of range.
    """
    bad = [c for c in digits if c.upper() not in DTMF_DIGITS + ","]
    if bad:
        raise ValueError(f"not a DTMF digit: {bad[0]!r} in {digits!r} (use {DTMF_DIGITS} and ',')")
    p = _ffi.new("vb_dtmf_tx_params_t *")
    _lib.vb_dtmf_tx_default_params(p)
    p.row_dbm0, p.col_dbm0 = level_dbm0, level_dbm0 - twist_db
    p.on_ms, p.off_ms = on_ms, off_ms
    state = _lib.vb_dtmf_tx_init(_ffi.NULL, p)
    if state == _ffi.NULL:
        raise ValueError(f"DTMF settings out of range: level {level_dbm0} dBm0, twist {twist_db} dB, "
                         f"on {on_ms} ms, off {off_ms} ms, pause {p.pause_ms} ms")
    state = _ffi.gc(state, _lib.vb_dtmf_tx_free)
    per_ms = SAMPLE_RATE // 1000
    parts = []
    room = _lib.VB_DTMF_TX_QUEUE
    for i in range(0, len(digits), room):
        chunk = digits[i:i + room]
        n = sum(p.pause_ms if c == "," else on_ms + off_ms for c in chunk) * per_ms
        _check(_lib.vb_dtmf_tx_put(state, chunk.encode()), "DTMF queue")
        out = _np.empty(n, dtype=_np.int16)
        got = _lib.vb_dtmf_tx(state, _ffi.cast("int16_t *", _ffi.from_buffer(out)), n) if n else 0
        parts.append(out[:got])
    _ffi.release(state)
    return _np.concatenate(parts) if parts else _np.zeros(0, dtype=_np.int16)


@dataclass(frozen=True)
class CpdEvent:
    """One call-progress report.

    ``kind`` is "tone" (``tone`` names it: "busy", "dial", ...), "silence" or "voice" (energy
    that is no known tone; ``tone`` is None). ``position`` is the sample index (8 kHz, since
    the detector was created) where the detector decided; ``start`` where the signal began.
    """
    kind: str
    tone: str | None
    position: int
    start: int


_CPD_PARAMS = ("min_tone_dbm0", "silence_dbm0", "tone_share_db", "max_twist_db", "jitter_pct",
               "slack_ms", "continuous_ms", "silence_ms", "voice_ms")
_CPD_KINDS = {_lib.VB_CPD_TONE: "tone", _lib.VB_CPD_SILENCE: "silence", _lib.VB_CPD_VOICE: "voice"}


def cpd_params(**overrides):
    """The call-progress detector's default settings (native/src/cpd.c), with overrides, as a dict."""
    unknown = set(overrides) - set(_CPD_PARAMS)
    if unknown:
        raise ValueError(f"unknown call-progress parameter(s): {', '.join(sorted(unknown))} "
                         f"(choose from {', '.join(_CPD_PARAMS)})")
    p = _ffi.new("vb_cpd_params_t *")
    _lib.vb_cpd_default_params(p)
    params = {name: getattr(p, name) for name in _CPD_PARAMS}
    params.update(overrides)
    return params


def cpd_pattern(tone):
    """The cadence the detector matches for a tones.Tone, as (elements, cyclic).

    Elements are ((f1, f2) or None for silence, ms); a continuous tone is one element with
    ms 0. Elements shorter than a detector block cannot be resolved and are folded into the
    one before. Returns None for a tone that never sounds.
    """
    block_ms = _lib.VB_CPD_BLOCK * 1000 // SAMPLE_RATE
    cycle = [s for s in tone.segments if s.repeat]
    cyclic = bool(cycle)
    elements = []
    for s in cycle or tone.segments:
        sounds = s.f1_hz > 0 and s.on_ms > 0
        elements.append([(s.f1_hz, s.f2_hz) if sounds else None, s.on_ms])
        if s.off_ms:
            elements.append([None, s.off_ms])
    folded = []
    for label, ms in elements:
        if folded and (label == folded[-1][0] or ms < block_ms):
            folded[-1][1] += ms
        else:
            folded.append([label, ms])
    if cyclic and len(folded) > 1 and folded[0][0] == folded[-1][0]:
        folded[0][1] += folded.pop()[1]
    if not cyclic:
        # Silence before or after a tone played once has no definite length.
        while folded and folded[0][0] is None:
            folded.pop(0)
        while folded and folded[-1][0] is None:
            folded.pop()
    if not any(label for label, _ in folded):
        return None
    if cyclic and len(folded) == 1:
        return [(folded[0][0], 0)], True
    return [(label, ms) for label, ms in folded], cyclic


class CallProgressDetector:
    """Streaming call-progress detector for one channel (see native/include/vb/cpd.h).

    Watches for the tones of a region's table (dial, busy, ringback, congestion, sit, ...),
    silence and voice. Results do not depend on how the stream is cut.

    Parameters
    ----------
    region : str
        Region whose tone table is watched (default "cn").
    tones : iterable of str, optional
        Tone names to watch; default: every tone of the region.
    **opts
        Settings as in :func:`cpd_params` (jitter_pct, slack_ms, continuous_ms, silence_ms,
        voice_ms, min_tone_dbm0, silence_dbm0, tone_share_db, max_twist_db).

    Examples
    --------
    >>> with CallProgressDetector("cn") as cpd:                   # doctest: +SKIP
    ...     busy = [e for e in cpd.feed(samples) if e.tone == "busy"]
    """

    _state = _ffi.NULL  # avoids confusion if __init__ fails before the state exists

    def __init__(self, region="cn", tones=None, **opts):
        table = _tones.region(region)
        names = list(table.tones) if tones is None else [table.tone(t).name for t in tones]
        params = cpd_params(**opts)
        state = _lib.vb_cpd_init(_ffi.NULL, _ffi.new("vb_cpd_params_t *", params))
        if state == _ffi.NULL:
            raise ValueError(f"call-progress parameters out of range: {params}")
        self._state = _ffi.gc(state, _lib.vb_cpd_free)
        self.params = params
        self.region = table
        self._names = []
        for name in names:
            tone = table.tones[name]
            pattern = cpd_pattern(tone)
            if pattern is None:
                continue
            elements, cyclic = pattern
            pat = _ffi.new("vb_cpd_pattern_t *")
            pat.n = len(elements)
            pat.cycles = tone.cycles
            pat.cyclic = int(cyclic)
            if pat.n > len(pat.e):
                raise ValueError(f"tone {name!r} of region {table.name!r}: more than {len(pat.e)} cadence elements")
            for i, (label, ms) in enumerate(elements):
                pat.e[i].f1_hz, pat.e[i].f2_hz = label or (0.0, 0.0)
                pat.e[i].ms = ms
            _check(_lib.vb_cpd_add_pattern(state, pat), f"tone {name!r} of region {table.name!r}")
            self._names.append(name)
        self._events = _ffi.new("vb_cpd_event_t[]", _lib.VB_CPD_QUEUE)
        # A block yields at most one event per pattern plus one, so feeding this many blocks
        # between reads never overflows the C queue.
        self._chunk = max(1, _lib.VB_CPD_QUEUE // (len(self._names) + 1)) * _lib.VB_CPD_BLOCK

    @property
    def tones(self):
        """Names of the tones watched, in pattern order."""
        return list(self._names)

    def close(self):
        """Free the C state (idempotent)."""
        if self._state != _ffi.NULL:
            _ffi.release(self._state)
            self._state = _ffi.NULL

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _live(self):
        if self._state == _ffi.NULL:
            raise ValueError("call-progress detector is closed")
        return self._state

    def feed(self, samples):
        """Process 8 kHz linear samples; return the events they completed, oldest first."""
        state = self._live()
        arr = _samples_i16(samples)
        buf = _ffi.cast("const int16_t *", _ffi.from_buffer(arr))
        events = []
        for i in range(0, arr.size, self._chunk):
            _lib.vb_cpd_rx(state, buf + i, min(self._chunk, arr.size - i))
            n = _lib.vb_cpd_get(state, self._events, _lib.VB_CPD_QUEUE)
            for k in range(n):
                e = self._events[k]
                tone = self._names[e.pattern] if e.kind == _lib.VB_CPD_TONE else None
                events.append(CpdEvent(_CPD_KINDS[e.kind], tone, e.position, e.start))
        return events
# (end of the tone section)


# ----------------------------------------------------------------------------------------
# SPSC rings, play/record queues and the per-board tick: ring.c, chan.c
# ----------------------------------------------------------------------------------------
# (end of the channel section)


# ----------------------------------------------------------------------------------------
# Sample-rate conversion for the sound-card edge: resample.c
# ----------------------------------------------------------------------------------------
# (end of the resampling section)
