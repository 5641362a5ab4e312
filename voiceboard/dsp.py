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


_DTMF_SLICE = SAMPLE_RATE // 2


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
# (end of the tone section)


# ----------------------------------------------------------------------------------------
# SPSC rings, play/record queues and the per-board tick: ring.c, chan.c
# ----------------------------------------------------------------------------------------
# (end of the channel section)


# ----------------------------------------------------------------------------------------
# Sample-rate conversion for the sound-card edge: resample.c
# ----------------------------------------------------------------------------------------
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


class FskTransmitter:
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

    _state = _ffi.NULL  # avoids confusion if __init__ fails before the state exists

    def __init__(self, standard="bell202", level_dbm0=-14.0, **spec):
        self.spec = fsk_spec(standard, **spec)
        state = _lib.vb_fsk_tx_init(_ffi.NULL, _ffi.new("vb_fsk_spec_t *", self.spec), float(level_dbm0))
        if state == _ffi.NULL:
            raise ValueError(f"FSK transmitter settings out of range: level {level_dbm0} dBm0, {self.spec}")
        self._state = _ffi.gc(state, _lib.vb_fsk_tx_free)
        self.level_dbm0 = float(level_dbm0)

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
            raise ValueError("FSK transmitter is closed")
        return self._state

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


class FskReceiver:
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

    _state = _ffi.NULL  # avoids confusion if __init__ fails before the state exists

    def __init__(self, standard="bell202", min_level_dbm0=-48.0, **spec):
        self.spec = fsk_spec(standard, **spec)
        state = _lib.vb_fsk_rx_init(_ffi.NULL, _ffi.new("vb_fsk_spec_t *", self.spec), float(min_level_dbm0))
        if state == _ffi.NULL:
            raise ValueError(f"FSK receiver settings out of range: min level {min_level_dbm0} dBm0, {self.spec}")
        self._state = _ffi.gc(state, _lib.vb_fsk_rx_free)
        self._reports = _ffi.new("vb_fsk_report_t[]", 64)
        self.standard = standard

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
            raise ValueError("FSK receiver is closed")
        return self._state

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
