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
# (end of the tone section)


# ----------------------------------------------------------------------------------------
# SPSC rings, play/record queues and the per-board tick: ring.c, chan.c
# ----------------------------------------------------------------------------------------
# (end of the channel section)


# ----------------------------------------------------------------------------------------
# Sample-rate conversion for the sound-card edge: resample.c
# ----------------------------------------------------------------------------------------

RESAMPLE_MIN_RATE = _lib.VB_RESAMPLE_MIN_RATE
RESAMPLE_MAX_RATE = _lib.VB_RESAMPLE_MAX_RATE


class Resampler:
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

    _state = _ffi.NULL  # avoids confusion if __init__ fails before the state exists

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
            raise ValueError("resampler is closed")
        return self._state

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
