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


class _NativeObject:
    """Owns one C state: ``close()`` frees it, ``with`` closes it, ``ffi.gc`` is only a safety
    net. Subclasses set ``_what`` (for the "is closed" error) and ``_state``."""

    _state = _ffi.NULL  # avoids confusion if __init__ fails before the state exists
    _what = "object"

    def close(self):
        """Free the C state (idempotent). For a ring, both threads must be done with it."""
        if self._state != _ffi.NULL:
            _ffi.release(self._state)
            self._state = _ffi.NULL

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _live(self):
        if self._state == _ffi.NULL:
            raise ValueError(f"{self._what} is closed")
        return self._state


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


_DTMF_SLICE = SAMPLE_RATE // 2


class DtmfDetector(_NativeObject):
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

    _what = "DTMF detector"

    def __init__(self, mode="normal", **overrides):
        params = dtmf_params(mode, **overrides)
        p = _ffi.new("vb_dtmf_rx_params_t *", params)
        state = _lib.vb_dtmf_rx_init(_ffi.NULL, p)
        if state == _ffi.NULL:
            raise ValueError(f"DTMF parameters out of range: {params}")
        self._state = _ffi.gc(state, _lib.vb_dtmf_rx_free)
        self._events = _ffi.new("vb_dtmf_event_t[]", 32)
        self.params = params

    def feed(self, samples):
        """Process 8 kHz linear samples; return the events they completed, oldest first."""
        state = self._live()
        arr = _samples_i16(samples)
        ptr = _ffi.cast("const int16_t *", _ffi.from_buffer(arr))
        events = []
        # The C queue holds 32 events; a slice of 0.5 s can complete at most 10 digits.
        for i in range(0, arr.size, _DTMF_SLICE):
            _lib.vb_dtmf_rx(state, ptr + i, min(_DTMF_SLICE, arr.size - i))
            events += self._drain()
        return events

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


class ToneGenerator(_NativeObject):
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

    _what = "tone generator"

    def __init__(self, region=None):
        self.region = _tones.region(region)
        state = _lib.vb_tone_tx_init(_ffi.NULL)
        if state == _ffi.NULL:
            raise MemoryError("cannot allocate a tone generator")
        self._state = _ffi.gc(state, _lib.vb_tone_tx_free)

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


class CallProgressDetector(_NativeObject):
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

    _what = "call-progress detector"

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

def _int16_samples(samples, where):
    """int16 view of samples for a native queue: int16 arrays and bytes-like s16le only, so
    a float array is never truncated silently."""
    if isinstance(samples, _np.ndarray) and samples.dtype != _np.int16:
        raise ValueError(f"{where}: samples must be int16, got {samples.dtype}")
    return _samples_i16(samples)


class RingBuffer(_NativeObject):
    """Single-producer/single-consumer ring of int16 samples (see native/include/vb/ring.h).

    One thread writes and one other thread reads, without locks; a real-time callback
    (sound card, serial reader) and the board's loop are the intended pair.

    Parameters
    ----------
    capacity : int
        Slots, in samples: a power of two from 2 to 2**30.

    Notes
    -----
    A write that does not fit drops the samples beyond the free space (counted in
    ``stats["overrun"]``); a read that asks for more than is present counts the shortfall in
    ``stats["underrun"]`` and, with ``pad=True``, returns silence for it.
    """

    _what = "RingBuffer"

    def __init__(self, capacity):
        if (not isinstance(capacity, (int, _np.integer)) or capacity < 2
                or capacity > _lib.VB_RING_MAX_CAPACITY or capacity & (capacity - 1)):
            raise ValueError(f"RingBuffer: capacity must be a power of two from 2 to "
                             f"{_lib.VB_RING_MAX_CAPACITY}, got {capacity!r}")
        capacity = int(capacity)
        state = _lib.vb_ring_init(_ffi.NULL, capacity)
        if state == _ffi.NULL:
            raise MemoryError(f"RingBuffer: cannot allocate {capacity} samples")
        self._state = _ffi.gc(state, _lib.vb_ring_free)
        self.capacity = capacity

    def write(self, samples):
        """Append int16 samples (writer thread); return how many fitted, the rest is dropped."""
        state = self._live()
        arr = _int16_samples(samples, "RingBuffer.write")
        return _check(_lib.vb_ring_write(state, _ffi.cast("const int16_t *", _ffi.from_buffer(arr)), arr.size),
                      "RingBuffer.write")

    def read(self, n=None, pad=False):
        """Take up to ``n`` samples (reader thread), oldest first.

        Parameters
        ----------
        n : int, optional
            Samples wanted; a shortfall counts as underrun. Default: all that are waiting.
        pad : bool
            Return exactly ``n`` samples, silence for the shortfall (a playout frame).

        Returns
        -------
        numpy.ndarray of int16
        """
        state = self._live()
        if n is None:
            n = _lib.vb_ring_fill(state)
        if not isinstance(n, (int, _np.integer)) or n < 0:
            raise ValueError(f"RingBuffer.read: n must be a non-negative integer, got {n!r}")
        out = _np.empty(int(n), dtype=_np.int16)
        got = _check(_lib.vb_ring_read(state, _ffi.cast("int16_t *", _ffi.from_buffer(out)), out.size,
                                       _lib.VB_RING_PAD if pad else 0), "RingBuffer.read")
        return out if pad else out[:got]

    @property
    def fill(self):
        """Samples waiting to be read."""
        return _lib.vb_ring_fill(self._live())

    @property
    def space(self):
        """Free slots."""
        return _lib.vb_ring_space(self._live())

    @property
    def stats(self):
        """Counters in samples: written, read, overrun, underrun."""
        st = _ffi.new("vb_ring_stats_t *")
        _lib.vb_ring_get_stats(self._live(), st)
        return {name: getattr(st, name) for name in ("written", "read", "overrun", "underrun")}


_EVENT_KINDS = {
    _lib.VB_EV_DIGIT_ON: "digit_on",
    _lib.VB_EV_DIGIT_OFF: "digit_off",
    _lib.VB_EV_PLAY_DONE: "play_done",
    _lib.VB_EV_RECORD_LIMIT: "record_limit",
}
_EVENT_REASONS = {
    _lib.VB_REASON_NONE: "",
    _lib.VB_REASON_END: "end",
    _lib.VB_REASON_BARGE_IN: "barge_in",
    _lib.VB_REASON_FLUSH: "flush",
    _lib.VB_REASON_LIMIT: "limit",
    _lib.VB_REASON_NOMEM: "nomem",
}


@dataclass(frozen=True)
class BoardEvent:
    """One event of a :class:`Board` tick.

    ``kind`` is "digit_on", "digit_off", "play_done" or "record_limit". ``pos`` is the
    sample (per channel, since the board was created) at which it happened: where the
    receiver decided (digits), the first sample not played ("play_done") or not recorded
    ("record_limit"). ``reason``: "end", "barge_in" or "flush" for "play_done"; "limit" or
    "nomem" for "record_limit"; "" for digits. ``prompt`` is the id :meth:`Board.play`
    returned (0 for other kinds). Digit events carry the tone's ``start`` (and ``end`` for
    "digit_off") and its levels in dBm0; the other kinds have None there.
    """
    kind: str
    channel: int
    pos: int
    digit: str = ""
    reason: str = ""
    prompt: int = 0
    start: int | None = None
    end: int | None = None
    row_dbm0: float | None = None
    col_dbm0: float | None = None
    twist_db: float | None = None


class Board(_NativeObject):
    """The media side of one voice board: every channel processed by one native call per tick.

    Per channel: a play queue of whole prompts, a record buffer, a DTMF receiver, barge-in
    and a full-duplex bridge (see native/include/vb/chan.h). Python keeps the handle only;
    all per-sample work is in C.

    Parameters
    ----------
    channels : int
        1 to 256.
    tick : int
        Samples per channel per tick (160 = 20 ms at 8 kHz).
    dtmf_mode : {"normal", "sensitive", "strict"}
    **dtmf_overrides
        Receiver settings as in :func:`dtmf_params`, for every channel.

    Examples
    --------
    >>> with Board(2) as board:                                  # doctest: +SKIP
    ...     board.play(0, prompt, barge_in="0123456789*#")
    ...     tx = board.tick(rx)          # rx: int16, shape (2, 160)
    ...     for ev in board.events(): ...
    """

    _what = "Board"

    def __init__(self, channels, tick=_lib.VB_BOARD_DEFAULT_TICK, dtmf_mode="normal", **dtmf_overrides):
        if not isinstance(channels, int) or not 1 <= channels <= _lib.VB_BOARD_MAX_CHANNELS:
            raise ValueError(f"Board: channels must be 1 to {_lib.VB_BOARD_MAX_CHANNELS}, got {channels!r}")
        if not isinstance(tick, int) or not 1 <= tick <= _lib.VB_BOARD_MAX_TICK:
            raise ValueError(f"Board: tick must be 1 to {_lib.VB_BOARD_MAX_TICK} samples, got {tick!r}")
        params = dtmf_params(dtmf_mode, **dtmf_overrides)
        state = _lib.vb_board_init(_ffi.NULL, channels, tick, _ffi.new("vb_dtmf_rx_params_t *", params))
        if state == _ffi.NULL:
            raise ValueError(f"Board: DTMF parameters out of range: {params}")
        self._state = _ffi.gc(state, _lib.vb_board_free)
        self.channels = channels
        self.tick_size = tick
        self._events = _ffi.new("vb_board_event_t[]", 64)  # drain batch; any size works

    def _channel(self, ch, where):
        if not isinstance(ch, (int, _np.integer)) or isinstance(ch, bool) or not 0 <= ch < self.channels:
            raise ValueError(f"Board.{where}: channel {ch!r} out of range (board has {self.channels} channels)")
        return int(ch)

    def tick(self, rx, out=None):
        """Process one tick of every channel.

        Parameters
        ----------
        rx : numpy.ndarray of int16, shape (channels, tick)
            Received samples, one row per channel.
        out : numpy.ndarray of int16, shape (channels, tick), C-contiguous, optional
            Where to write the transmit samples (saves an allocation per tick).

        Returns
        -------
        numpy.ndarray of int16, shape (channels, tick): the transmit samples.
        """
        state = self._live()
        shape = (self.channels, self.tick_size)
        if not isinstance(rx, _np.ndarray) or rx.dtype != _np.int16 or rx.shape != shape:
            got = f"{rx.dtype} {rx.shape}" if isinstance(rx, _np.ndarray) else type(rx).__name__
            raise ValueError(f"Board.tick: rx must be an int16 array of shape {shape}, got {got}")
        rx = _np.ascontiguousarray(rx)
        if out is None:
            out = _np.empty(shape, dtype=_np.int16)
        elif (not isinstance(out, _np.ndarray) or out.dtype != _np.int16 or out.shape != shape
              or not out.flags.c_contiguous or not out.flags.writeable):
            raise ValueError(f"Board.tick: out must be a writeable C-contiguous int16 array of shape {shape}")
        _check(_lib.vb_board_tick(state, _ffi.cast("const int16_t *", _ffi.from_buffer(rx)),
                                  _ffi.cast("int16_t *", _ffi.from_buffer(out))), "Board.tick")
        return out

    def events(self):
        """Take the events of the ticks so far, oldest first (a list of :class:`BoardEvent`)."""
        state = self._live()
        events = []
        while True:
            n = _lib.vb_board_get_events(state, self._events, 64)
            for i in range(n):
                e = self._events[i]
                kind = _EVENT_KINDS[e.kind]
                if e.kind in (_lib.VB_EV_DIGIT_ON, _lib.VB_EV_DIGIT_OFF):
                    events.append(BoardEvent(kind, e.channel, e.pos, digit=e.digit.decode(), start=e.start,
                                             end=None if e.end < 0 else e.end, row_dbm0=round(e.row_dbm0, 2),
                                             col_dbm0=round(e.col_dbm0, 2), twist_db=round(e.twist_db, 2)))
                else:
                    events.append(BoardEvent(kind, e.channel, e.pos, reason=_EVENT_REASONS[e.reason],
                                             prompt=e.prompt))
            if n < 64:
                return events

    def play(self, ch, samples, barge_in=""):
        """Queue a whole prompt on a channel; it is copied, so ``samples`` may be reused.

        Parameters
        ----------
        ch : int
        samples : numpy.ndarray of int16, or bytes-like s16le
        barge_in : str
            Digits ("0123456789*#ABCD") that flush the channel's play queue while this prompt
            plays, at the sample where the receiver recognises the digit.

        Returns
        -------
        int
            The prompt id, reported again in its "play_done" event.
        """
        state = self._live()
        ch = self._channel(ch, "play")
        if not isinstance(barge_in, str) or set(barge_in.upper()) - set(DTMF_DIGITS):
            raise ValueError(f"Board.play: barge_in must be digits from {DTMF_DIGITS!r}, got {barge_in!r}")
        mask = _check(_lib.vb_chan_digit_mask(barge_in.upper().encode()), "Board.play: barge_in")
        arr = _int16_samples(samples, "Board.play")
        if arr.size > _np.iinfo(_np.int32).max:
            raise ValueError(f"Board.play: prompt of {arr.size} samples is too long")
        ptr = _ffi.cast("const int16_t *", _ffi.from_buffer(arr)) if arr.size else _ffi.NULL
        return _check(_lib.vb_chan_play(state, ch, ptr, arr.size, mask), "Board.play")

    def stop_play(self, ch):
        """Flush the channel's play queue now; return how many prompts were flushed."""
        return _check(_lib.vb_chan_stop_play(self._live(), self._channel(ch, "stop_play")), "Board.stop_play")

    def queued(self, ch):
        """Samples still to play on a channel (all queued prompts)."""
        return _check(_lib.vb_chan_play_queued(self._live(), self._channel(ch, "queued")), "Board.queued")

    def start_record(self, ch, max_samples):
        """Record the channel's received samples from the next tick, up to ``max_samples``
        (then a "record_limit" event). Drops recorded audio not yet taken."""
        state = self._live()
        ch = self._channel(ch, "start_record")
        if not isinstance(max_samples, (int, _np.integer)) or not 0 < max_samples <= _np.iinfo(_np.int32).max:
            raise ValueError(f"Board.start_record: max_samples must be a positive int32, got {max_samples!r}")
        _check(_lib.vb_chan_record_start(state, ch, int(max_samples)), "Board.start_record")

    def stop_record(self, ch):
        """Stop recording; the samples stay until :meth:`take_recording`."""
        _check(_lib.vb_chan_record_stop(self._live(), self._channel(ch, "stop_record")), "Board.stop_record")

    def recording(self, ch):
        """Whether the channel is recording."""
        return bool(_check(_lib.vb_chan_recording(self._live(), self._channel(ch, "recording")),
                           "Board.recording"))

    def take_recording(self, ch):
        """Take the recorded samples waiting on a channel (int16 array, possibly empty)."""
        state = self._live()
        ch = self._channel(ch, "take_recording")
        out = _np.empty(_check(_lib.vb_chan_record_len(state, ch)), dtype=_np.int16)
        if out.size:
            got = _check(_lib.vb_chan_record_take(state, ch, _ffi.cast("int16_t *", _ffi.from_buffer(out)),
                                                  out.size), "Board.take_recording")
            out = out[:got]
        return out

    def bridge(self, a, b):
        """Connect channels ``a`` and ``b`` full duplex (each one's received audio goes out on
        the other, mixed with its own prompts); digits are still detected on both."""
        state = self._live()
        a = self._channel(a, "bridge")
        b = self._channel(b, "bridge")
        if a == b:
            raise ValueError(f"Board.bridge: cannot bridge channel {a} to itself")
        rc = _lib.vb_board_bridge(state, a, b)
        if rc == _lib.VB_ERR_STATE:
            raise ValueError(f"Board.bridge: channel {a} or {b} is already bridged elsewhere")
        _check(rc, "Board.bridge")

    def unbridge(self, ch):
        """Disconnect a channel from its bridge partner (both directions); return the partner.
        A channel that is not bridged is left alone and None is returned."""
        rc = _lib.vb_board_unbridge(self._live(), self._channel(ch, "unbridge"))
        return None if rc == _lib.VB_ERR_STATE else _check(rc, "Board.unbridge")

    def partner(self, ch):
        """The channel bridged to ``ch``, or None."""
        rc = _lib.vb_board_partner(self._live(), self._channel(ch, "partner"))
        return None if rc == _lib.VB_ERR_STATE else _check(rc, "Board.partner")

    @property
    def position(self):
        """Samples processed per channel since the board was created."""
        return _lib.vb_board_position(self._live())

    @property
    def stats(self):
        """Board counters: ticks, events_dropped."""
        st = _ffi.new("vb_board_stats_t *")
        _lib.vb_board_get_stats(self._live(), st)
        return {"ticks": st.ticks, "events_dropped": st.events_dropped}

    def dtmf_stats(self, ch):
        """A channel's receiver counters: samples, digits, rejected_short, events_dropped."""
        st = _ffi.new("vb_dtmf_rx_stats_t *")
        _check(_lib.vb_chan_get_dtmf_stats(self._live(), self._channel(ch, "dtmf_stats"), st), "Board.dtmf_stats")
        return {name: getattr(st, name) for name in ("samples", "digits", "rejected_short", "events_dropped")}


# (end of the channel section)


# ----------------------------------------------------------------------------------------
# Sample-rate conversion for the sound-card edge: resample.c
# ----------------------------------------------------------------------------------------

RESAMPLE_MIN_RATE = _lib.VB_RESAMPLE_MIN_RATE
RESAMPLE_MAX_RATE = _lib.VB_RESAMPLE_MAX_RATE


class Resampler(_NativeObject):
    """Streaming sample-rate converter between two rates with a rational ratio (C, polyphase
    Kaiser-windowed sinc; see native/include/vb/resample.h).

    Pass band flat to 0.85 x the lower Nyquist frequency, at least 70 dB down from the lower
    Nyquist frequency up, zero delay, and the same output however the input is cut.

    Parameters
    ----------
    rate_in, rate_out : int
        Samples per second, each between ``RESAMPLE_MIN_RATE`` and ``RESAMPLE_MAX_RATE``.

    Raises
    ------
    ValueError
        A rate is out of range, or the reduced ratio needs too large a filter.

    Examples
    --------
    >>> with Resampler(48000, 8000) as rs:                       # doctest: +SKIP
    ...     out = np.concatenate([rs.process(block) for block in blocks] + [rs.flush()])
    """

    _what = "resampler"

    def __init__(self, rate_in, rate_out):
        for name, rate in (("rate_in", rate_in), ("rate_out", rate_out)):
            if (isinstance(rate, bool) or not isinstance(rate, (int, _np.integer))
                    or not RESAMPLE_MIN_RATE <= rate <= RESAMPLE_MAX_RATE):
                raise ValueError(f"{name} must be an integer from {RESAMPLE_MIN_RATE} to "
                                 f"{RESAMPLE_MAX_RATE} samples/s, not {rate!r}")
        rate_in, rate_out = int(rate_in), int(rate_out)
        state = _lib.vb_resample_init(_ffi.NULL, rate_in, rate_out)
        if state == _ffi.NULL:
            raise ValueError(f"cannot convert {rate_in} to {rate_out} samples/s: the reduced "
                             f"ratio needs a filter of more than {_lib.VB_RESAMPLE_MAX_COEFFS} taps")
        self._state = _ffi.gc(state, _lib.vb_resample_free)
        self.rate_in = rate_in
        self.rate_out = rate_out

    @property
    def taps(self):
        """Filter taps per output sample (1 when the rates are equal)."""
        return _lib.vb_resample_taps(self._live())

    def process(self, samples):
        """Convert a block (int16 array, or s16le bytes-like); return the int16 samples it completes."""
        state = self._live()
        arr = _samples_i16(samples)
        out = _np.empty(_check(_lib.vb_resample_max_out(state, arr.size), "resample"), dtype=_np.int16)
        n = _check(_lib.vb_resample(state, _ffi.cast("const int16_t *", _ffi.from_buffer(arr)), arr.size,
                                    _ffi.cast("int16_t *", _ffi.from_buffer(out)), out.size), "resample")
        return out[:n]

    def flush(self):
        """End the stream: return the samples still owed (the input is taken to be followed by
        silence), so that N input samples give ceil(N * rate_out / rate_in) in all. The
        resampler then starts a new stream."""
        state = self._live()
        out = _np.empty(_lib.vb_resample_pending(state), dtype=_np.int16)
        n = _check(_lib.vb_resample_flush(state, _ffi.cast("int16_t *", _ffi.from_buffer(out)), out.size),
                   "resample flush")
        return out[:n]


def resample(samples, rate_in, rate_out):
    """Convert a whole buffer: N samples in give ceil(N * rate_out / rate_in) int16 samples out.

    See Also
    --------
    Resampler : the streaming form.
    """
    with Resampler(rate_in, rate_out) as rs:
        return _np.concatenate([rs.process(samples), rs.flush()])

# (end of the resampling section)


# ----------------------------------------------------------------------------------------
# FSK modem and caller-ID physical layer (Bell 202, V.23): fsk.c
# ----------------------------------------------------------------------------------------

FSK_STANDARDS = {"bell202": _lib.VB_FSK_BELL202, "v23": _lib.VB_FSK_V23}


def fsk_spec(standard="bell202", mark_hz=None, space_hz=None, baud=None):
    """Tones and rate of an FSK standard (telephony.md §5.1), with overrides, as a dict.

    Parameters
    ----------
    standard : {"bell202", "v23"}
        Bell 202 (GR-30, US, China): mark 1200 Hz, space 2200 Hz; V.23 mode 2 (ETSI):
        mark 1300 Hz, space 2100 Hz; both 1200 baud.
    mark_hz, space_hz, baud : float, optional
        Replace the standard's value.
    """
    if standard not in FSK_STANDARDS:
        raise ValueError(f"unknown FSK standard {standard!r} (choose from {', '.join(FSK_STANDARDS)})")
    spec = _ffi.new("vb_fsk_spec_t *")
    _check(_lib.vb_fsk_spec(spec, FSK_STANDARDS[standard]))
    out = {"mark_hz": spec.mark_hz, "space_hz": spec.space_hz, "baud": spec.baud}
    for name, value in (("mark_hz", mark_hz), ("space_hz", space_hz), ("baud", baud)):
        if value is not None:
            out[name] = float(value)
    return out


@dataclass(frozen=True)
class FskReport:
    """One receiver report: ``kind`` is "byte" (``value`` is the byte), "carrier-on" or
    "carrier-off". ``pos`` is the sample position since the receiver was created: the
    start-bit edge of a byte (+-2 samples) or where a carrier change was decided."""
    kind: str
    value: int
    pos: int


_FSK_KINDS = {_lib.VB_FSK_BYTE: "byte", _lib.VB_FSK_CARRIER_ON: "carrier-on",
              _lib.VB_FSK_CARRIER_OFF: "carrier-off"}
# The C queue keeps 256 reports; 1 s at 1200 baud completes at most 120 bytes.
_FSK_SLICE = SAMPLE_RATE


class FskTransmitter(_NativeObject):
    """Phase-continuous FSK transmitter (see native/include/vb/fsk.h).

    Parameters
    ----------
    standard : {"bell202", "v23"}
    level_dbm0 : float
        Output level, -60 to +3.14 dBm0; -14 by default, as spandsp.
    **spec
        mark_hz, space_hz or baud to override the standard (see :func:`fsk_spec`).

    Examples
    --------
    >>> with FskTransmitter("bell202") as tx:                    # doctest: +SKIP
    ...     tx.put_alternating(0, 300); tx.put_bits(1, 180); tx.put_bytes(message)
    ...     samples = tx.generate()
    """

    _what = "FSK transmitter"

    def __init__(self, standard="bell202", level_dbm0=-14.0, **spec):
        self.spec = fsk_spec(standard, **spec)
        state = _lib.vb_fsk_tx_init(_ffi.NULL, _ffi.new("vb_fsk_spec_t *", self.spec), float(level_dbm0))
        if state == _ffi.NULL:
            raise ValueError(f"FSK transmitter settings out of range: level {level_dbm0} dBm0, {self.spec}")
        self._state = _ffi.gc(state, _lib.vb_fsk_tx_free)
        self.level_dbm0 = float(level_dbm0)

    def put_bytes(self, data):
        """Queue bytes as asynchronous characters (start 0, 8 data bits LSB first, stop 1)."""
        data = bytes(data)
        _check(_lib.vb_fsk_tx_put_bytes(self._live(), data, len(data)), "FSK transmit queue")

    def put_bits(self, bit, count):
        """Queue ``count`` raw bits of one value (1 = mark idle)."""
        _check(_lib.vb_fsk_tx_put_bits(self._live(), int(bit), int(count)), "FSK transmit queue")

    def put_alternating(self, first, count):
        """Queue ``count`` raw bits alternating from ``first`` (channel seizure: 0101...)."""
        _check(_lib.vb_fsk_tx_put_alternating(self._live(), int(first), int(count)), "FSK transmit queue")

    @property
    def queued(self):
        """Bits waiting, including the one being sent."""
        return _lib.vb_fsk_tx_queued(self._live())

    def generate(self, max_samples=None):
        """Samples for the queued bits (all of them by default) as an int16 array.

        Fewer than ``max_samples`` come back only when the queue runs dry; the tone phase and
        the fractional bit clock carry over to the next call.
        """
        state = self._live()
        if max_samples is None:
            # Whole bits need ceil(bits * 8000 / baud) samples; one more covers the carry.
            max_samples = int(_np.ceil(self.queued * SAMPLE_RATE / self.spec["baud"])) + 1
        out = _np.empty(int(max_samples), dtype=_np.int16)
        n = _lib.vb_fsk_tx(state, _ffi.cast("int16_t *", _ffi.from_buffer(out)), out.size) if out.size else 0
        return out[:n]


class FskReceiver(_NativeObject):
    """Streaming FSK receiver with UART framing for one channel (see native/include/vb/fsk.h).

    Results do not depend on how the stream is cut: feed 1 sample or minutes at a time.

    Parameters
    ----------
    standard : {"bell202", "v23"}
    min_level_dbm0 : float
        Weakest carrier accepted (-70 to 0 dBm0; -48 by default, 8 dB below the -40 dBm0
        the receiver is tested at).
    **spec
        mark_hz, space_hz or baud to override the standard (see :func:`fsk_spec`).
    """

    _what = "FSK receiver"

    def __init__(self, standard="bell202", min_level_dbm0=-48.0, **spec):
        self.spec = fsk_spec(standard, **spec)
        state = _lib.vb_fsk_rx_init(_ffi.NULL, _ffi.new("vb_fsk_spec_t *", self.spec), float(min_level_dbm0))
        if state == _ffi.NULL:
            raise ValueError(f"FSK receiver settings out of range: min level {min_level_dbm0} dBm0, {self.spec}")
        self._state = _ffi.gc(state, _lib.vb_fsk_rx_free)
        self._reports = _ffi.new("vb_fsk_report_t[]", 64)
        self.standard = standard

    def feed(self, samples):
        """Process 8 kHz linear samples; return the reports they completed, oldest first."""
        state = self._live()
        arr = _samples_i16(samples)
        ptr = _ffi.cast("const int16_t *", _ffi.from_buffer(arr))
        reports = []
        for i in range(0, arr.size, _FSK_SLICE):
            _lib.vb_fsk_rx(state, ptr + i, min(_FSK_SLICE, arr.size - i))
            reports += self._drain()
        return reports

    def _drain(self):
        reports = []
        while True:
            n = _lib.vb_fsk_rx_get(self._state, self._reports, 64)
            reports += [FskReport(_FSK_KINDS[r.kind], r.value, r.pos) for r in self._reports[0:n]]
            if n < 64:
                return reports

    @property
    def carrier(self):
        """True while a carrier is present."""
        return bool(_lib.vb_fsk_rx_carrier(self._live()))

    @property
    def stats(self):
        """Counters: samples, bytes, framing_errors, reports_dropped."""
        st = _ffi.new("vb_fsk_rx_stats_t *")
        _lib.vb_fsk_rx_get_stats(self._live(), st)
        return {name: getattr(st, name) for name in ("samples", "bytes", "framing_errors", "reports_dropped")}


def fsk_receive(samples, standard="bell202", min_level_dbm0=-48.0, **spec):
    """Run a fresh receiver over a whole buffer; return all its reports."""
    with FskReceiver(standard, min_level_dbm0, **spec) as rx:
        return rx.feed(samples)
# (end of the FSK section)


# ----------------------------------------------------------------------------------------
# E1 framer (G.704, CRC-4, CAS) and MFC-R2 tones: e1.c, r2mf.c
# ----------------------------------------------------------------------------------------
_E1_CRC4 = {"off": _lib.VB_E1_CRC4_OFF, "on": _lib.VB_E1_CRC4_ON, "auto": _lib.VB_E1_CRC4_AUTO}
_E1_CONFIG = ("cas", "sa_bits", "si_bits", "los_zeros", "los_clear_ones", "ais_zeros", "rai_frames", "red_ms",
              "nfas_loss", "interworking_ms", "cas_persistence", "y_multiframes")
E1_ALARMS = {
    "los": _lib.VB_E1_ALARM_LOS, "ais": _lib.VB_E1_ALARM_AIS, "lof": _lib.VB_E1_ALARM_LOF,
    "red": _lib.VB_E1_ALARM_RED, "rai": _lib.VB_E1_ALARM_RAI, "ts16_lomf": _lib.VB_E1_ALARM_TS16_LOMF,
    "ts16_ais": _lib.VB_E1_ALARM_TS16_AIS, "ts16_rmf": _lib.VB_E1_ALARM_TS16_RMF,
}
E1_TIMESLOTS = _lib.VB_E1_TIMESLOTS
E1_CHANNELS = _lib.VB_E1_CHANNELS
E1_FRAME_RATE = _lib.VB_E1_FRAME_RATE
_E1_STATS = ("octets", "frames", "fas_errors", "frame_losses", "crc_blocks", "crc_errors", "ebit_errors",
             "crc_mf_timeouts", "false_alignments", "cas_mf_losses", "abcd_changes")


def e1_config(crc4="auto", **overrides):
    """The framer settings (vb_e1_config_t, see native/include/vb/e1.h) as a dict.

    Parameters
    ----------
    crc4 : {"auto", "on", "off"}
        "auto" is CRC-4 with G.706 Annex B interworking towards a far end without CRC-4.
    **overrides
        Any of cas, sa_bits, si_bits, los_zeros, los_clear_ones, ais_zeros, rai_frames,
        red_ms, nfas_loss, interworking_ms, cas_persistence, y_multiframes.
    """
    if crc4 not in _E1_CRC4:
        raise ValueError(f"E1: crc4 must be one of {', '.join(_E1_CRC4)}, got {crc4!r}")
    unknown = set(overrides) - set(_E1_CONFIG)
    if unknown:
        raise ValueError(f"E1: unknown setting(s): {', '.join(sorted(unknown))}")
    c = _ffi.new("vb_e1_config_t *")
    _lib.vb_e1_default_config(c)
    cfg = {name: getattr(c, name) for name in _E1_CONFIG}
    cfg.update({k: int(v) for k, v in overrides.items()})
    cfg["crc4"] = crc4
    return cfg


def e1_crc4(smf):
    """CRC-4 (C1..C4 as a 4-bit int) of one sub-multiframe: 256 octets, FAS frame first."""
    arr, _ = _as_array(smf, _np.uint8)
    if arr.size != 8 * E1_TIMESLOTS:
        raise ValueError(f"e1_crc4: a sub-multiframe is {8 * E1_TIMESLOTS} octets, got {arr.size}")
    return _lib.vb_e1_crc4(_ffi.cast("const uint8_t *", _ffi.from_buffer(arr)))


class E1Framer:
    """Both directions of one end of an E1 span: a G.704 transmitter and receiver, linked so
    that the transmitted A, E and Y bits answer what the receiver sees (native/include/vb/e1.h).

    Bearer octets are A-law, channel-major: an array of shape (30, frames), row c = channel
    c + 1 (TS1-15, TS17-31). The line is a stream of octets, 32 per frame.

    Parameters
    ----------
    crc4, **overrides
        As in :func:`e1_config`.
    """

    _rx = _ffi.NULL
    _tx = _ffi.NULL

    def __init__(self, crc4="auto", **overrides):
        cfg = e1_config(crc4, **overrides)
        c = _ffi.new("vb_e1_config_t *", {**cfg, "crc4": _E1_CRC4[crc4]})
        rx = _lib.vb_e1_rx_init(_ffi.NULL, c)
        if rx == _ffi.NULL:
            raise ValueError(f"E1: settings out of range: {cfg}")
        self._rx = _ffi.gc(rx, _lib.vb_e1_rx_free)
        self._tx = _ffi.gc(_lib.vb_e1_tx_init(_ffi.NULL, c, self._rx), _lib.vb_e1_tx_free)
        self.config = cfg
        self._status = _ffi.new("vb_e1_rx_status_t *")
        self._stats = _ffi.new("vb_e1_rx_stats_t *")

    def close(self):
        """Free the C states (idempotent)."""
        if self._tx != _ffi.NULL:
            _ffi.release(self._tx)
            self._tx = _ffi.NULL
        if self._rx != _ffi.NULL:
            _ffi.release(self._rx)
            self._rx = _ffi.NULL

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _live(self):
        if self._rx == _ffi.NULL:
            raise ValueError("E1 framer is closed")

    @staticmethod
    def _bearer(bearer, frames, where):
        if not isinstance(bearer, _np.ndarray) or bearer.dtype != _np.uint8 or bearer.ndim != 2 \
                or bearer.shape[0] != E1_CHANNELS or bearer.shape[1] < frames or not bearer.flags.c_contiguous:
            raise ValueError(f"E1Framer.{where}: bearer must be a C-contiguous uint8 array of shape "
                             f"({E1_CHANNELS}, >= {frames})")
        return bearer.shape[1]

    def transmit(self, bearer=None, frames=None, out=None):
        """Build frames; returns the line octets (uint8 array of frames * 32).

        ``bearer`` (uint8, shape (30, n)) gives the channels' A-law octets, None the idle
        octet; ``frames`` defaults to n (or 160 without bearer); ``out`` may receive the octets.
        """
        self._live()
        if frames is None:
            frames = 160 if bearer is None else bearer.shape[1]
        stride = 0 if bearer is None else self._bearer(bearer, frames, "transmit")
        if out is None:
            out = _np.empty(frames * E1_TIMESLOTS, dtype=_np.uint8)
        elif out.dtype != _np.uint8 or out.size < frames * E1_TIMESLOTS or not out.flags.c_contiguous:
            raise ValueError("E1Framer.transmit: out must be a C-contiguous uint8 array of frames * 32 octets")
        b = _ffi.NULL if bearer is None else _ffi.cast("const uint8_t *", _ffi.from_buffer(bearer))
        _check(_lib.vb_e1_tx(self._tx, b, stride, _ffi.cast("uint8_t *", _ffi.from_buffer(out)), frames),
               "E1Framer.transmit")
        return out

    def receive(self, line, out=None):
        """Consume line octets (a multiple of 32); returns the bearer octets (uint8, shape
        (30, frames)), the idle octet where no aligned frame was received."""
        self._live()
        arr, _ = _as_array(line, _np.uint8)
        arr = arr.reshape(-1)
        if arr.size % E1_TIMESLOTS:
            raise ValueError(f"E1Framer.receive: {arr.size} octets is not a whole number of frames")
        frames = arr.size // E1_TIMESLOTS
        if out is None:
            out = _np.empty((E1_CHANNELS, frames), dtype=_np.uint8)
        stride = self._bearer(out, frames, "receive")
        _check(_lib.vb_e1_rx(self._rx, _ffi.cast("const uint8_t *", _ffi.from_buffer(arr)), frames,
                             _ffi.cast("uint8_t *", _ffi.from_buffer(out)), stride), "E1Framer.receive")
        return out

    def set_abcd(self, channel, abcd):
        """Send ``abcd`` (0-15; 0000 only on channels 16-30) on channel 1-30 from the next
        multiframe."""
        self._live()
        if _lib.vb_e1_tx_set_abcd(self._tx, int(channel), int(abcd)) < 0:
            raise ValueError(f"E1Framer.set_abcd: channel must be 1-30 and abcd 0-15, 0000 not on channels "
                             f"1-15 (it imitates the multiframe signal), got channel {channel!r}, abcd {abcd!r}")

    def tx_abcd(self, channel):
        """The ABCD being sent on channel 1-30."""
        self._live()
        return _check(_lib.vb_e1_tx_get_abcd(self._tx, int(channel)), "E1Framer.tx_abcd")

    def set_rai(self, on):
        """Force the remote alarm (A bit) on or off."""
        self._live()
        _lib.vb_e1_tx_set_rai(self._tx, bool(on))

    def set_sa(self, sa):
        """Set the Sa4-Sa8 bits sent (0-31)."""
        self._live()
        _check(_lib.vb_e1_tx_set_sa(self._tx, int(sa)), "E1Framer.set_sa")

    def status(self):
        """The receiver now: dict of frame_aligned, crc4_aligned, cas_aligned, interworking
        (bools), alarms (a frozenset of names from E1_ALARMS), sa_bits, abcd (bytes of 30)."""
        self._live()
        st = self._status
        _lib.vb_e1_rx_get_status(self._rx, st)
        return {"frame_aligned": bool(st.frame_aligned), "crc4_aligned": bool(st.crc4_aligned),
                "cas_aligned": bool(st.cas_aligned), "interworking": bool(st.interworking),
                "alarms": frozenset(n for n, bit in E1_ALARMS.items() if st.alarms & bit),
                "sa_bits": st.sa_bits, "abcd": bytes(_ffi.buffer(st.abcd))}

    def stats(self):
        """Receiver counters (dict): octets, frames, fas_errors, frame_losses, crc_blocks,
        crc_errors, ebit_errors, crc_mf_timeouts, false_alignments, cas_mf_losses, abcd_changes."""
        self._live()
        _lib.vb_e1_rx_get_stats(self._rx, self._stats)
        return {name: getattr(self._stats, name) for name in _E1_STATS}


R2MF_DIRECTIONS = {"forward": _lib.VB_R2MF_FORWARD, "backward": _lib.VB_R2MF_BACKWARD}
_R2MF_PARAMS = ("min_level_dbm0", "twist_db", "relative_peak_db", "block_size")


def _r2mf_direction(direction, where):
    if direction not in R2MF_DIRECTIONS:
        raise ValueError(f"{where}: direction must be 'forward' or 'backward', got {direction!r}")
    return R2MF_DIRECTIONS[direction]


def r2mf_freqs(direction, signal):
    """The two frequencies (Hz) of MFC-R2 signal 1-15 in a direction."""
    f1, f2 = _ffi.new("float *"), _ffi.new("float *")
    _check(_lib.vb_r2mf_freqs(_r2mf_direction(direction, "r2mf_freqs"), int(signal), f1, f2),
           f"r2mf_freqs: signal {signal!r}")
    return f1[0], f2[0]


class R2MFGenerator(_NativeObject):
    """MFC-R2 tone generator for one channel and direction (native/include/vb/r2mf.h).

    Parameters
    ----------
    direction : {"forward", "backward"}
    level_dbm0 : float
        Level of each tone (default -11 dBm0, spandsp/openr2; ⚠ DAHDI's cn zone uses -8).
    """

    _what = "R2MFGenerator"

    def __init__(self, direction, level_dbm0=-11.0):
        d = _r2mf_direction(direction, "R2MFGenerator")
        state = _lib.vb_r2mf_tx_init(_ffi.NULL, d, float(level_dbm0))
        if state == _ffi.NULL:
            raise ValueError(f"R2MFGenerator: level_dbm0 must be -50 to -3, got {level_dbm0!r}")
        self._state = _ffi.gc(state, _lib.vb_r2mf_tx_free)
        self.direction = direction

    def put(self, signal):
        """Send signal 1-15 from the next sample on, or 0 to stop."""
        _check(_lib.vb_r2mf_tx_put(self._live(), int(signal)), f"R2MFGenerator.put: signal {signal!r}")

    @property
    def signal(self):
        """The signal being sent (0 when silent)."""
        return _lib.vb_r2mf_tx_current(self._live())

    def generate(self, n, out=None):
        """``n`` samples (int16) of the current signal or silence; ``out`` may receive them."""
        state = self._live()
        if out is None:
            out = _np.empty(n, dtype=_np.int16)
        _lib.vb_r2mf_tx(state, _ffi.cast("int16_t *", _ffi.from_buffer(out)), n)
        return out


class R2MFDetector(_NativeObject):
    """MFC-R2 signal receiver for one channel and direction (native/include/vb/r2mf.h).

    Parameters
    ----------
    direction : {"forward", "backward"}
        The signals to receive.
    **params
        min_level_dbm0 (-36.5), twist_db (7), relative_peak_db (11), block_size (133).
    """

    _what = "R2MFDetector"

    def __init__(self, direction, **params):
        d = _r2mf_direction(direction, "R2MFDetector")
        unknown = set(params) - set(_R2MF_PARAMS)
        if unknown:
            raise ValueError(f"R2MFDetector: unknown parameter(s): {', '.join(sorted(unknown))}")
        p = _ffi.new("vb_r2mf_rx_params_t *")
        _lib.vb_r2mf_rx_default_params(p)
        for k, v in params.items():
            setattr(p, k, v)
        state = _lib.vb_r2mf_rx_init(_ffi.NULL, d, p)
        if state == _ffi.NULL:
            raise ValueError(f"R2MFDetector: parameters out of range: {params}")
        self._state = _ffi.gc(state, _lib.vb_r2mf_rx_free)
        self.direction = direction

    def feed(self, samples):
        """Process 8 kHz linear samples; return the signal present now (0 for none)."""
        state = self._live()
        arr = _samples_i16(samples)
        if arr.size:
            _lib.vb_r2mf_rx(state, _ffi.cast("const int16_t *", _ffi.from_buffer(arr)), arr.size)
        return _lib.vb_r2mf_rx_get(state)

    @property
    def signal(self):
        """The signal present now (0 for none)."""
        return _lib.vb_r2mf_rx_get(self._live())

    @property
    def changes(self):
        """Signal changes recognised so far."""
        return _lib.vb_r2mf_rx_changes(self._live())
# (end of the E1 section)
