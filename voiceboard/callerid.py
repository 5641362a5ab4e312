"""Caller ID on analog lines: message layer and on-hook data signal.

Formats (docs/callerid.md; telephony.md §5):

- FSK caller ID, sent between the first and the second ring (GR-30, China) or after a line
  reversal (ETSI): channel seizure, marks, then one message
  ``[type][length][payload][checksum]`` in SDMF (type 0x04) or MDMF (type 0x80), at 1200 baud
  Bell 202 or V.23 (:mod:`voiceboard.dsp` ``FskTransmitter`` / ``FskReceiver``).
- DTMF caller ID: the number between a start and an end digit, e.g. ``A2156430144C``.

:func:`encode_message` / :func:`decode_message` handle the bytes, :func:`encode_dtmf` /
:func:`decode_dtmf` the DTMF digit strings, :func:`onhook_signal` builds the audio and
:func:`decode_onhook` finds caller IDs in a recording.

Name encoding is ASCII by default. China is said to send names in GBK, but no primary source
confirms it (telephony.md §5.5, ⚠), so the encoding is a parameter ("gbk" works).
"""
import codecs
import re
from dataclasses import dataclass

import numpy as np

from voiceboard import dsp

# Message types (telephony.md §5.2, spandsp adsi.h).
SDMF_CALLER_ID = 0x04
MDMF_CALLER_ID = 0x80
# MDMF parameter types (GR-30 MCLASS_*, EN 300 659-1 CLIP_*; telephony.md §5.2).
PARAM_DATE = 0x01
PARAM_NUMBER = 0x02
PARAM_NUMBER_ABSENT = 0x04
PARAM_NAME = 0x07
PARAM_NAME_ABSENT = 0x08
# Reasons for absence: 'O' out of area / unavailable, 'P' private (telephony.md §5.2).
ABSENCE_REASONS = ("O", "P")

FORMATS = ("mdmf", "sdmf", "dtmf")
MODES = ("bell202", "v23", "dtmf")

# On-hook data signal defaults (telephony.md §5.1): 300 bits of 0101... channel seizure
# (= 30 x 0x55 with start and stop bits; ETSI 300, BT SIN227 allows 96-315), 180 mark bits
# before the message (ETSI 180 +- 25), and Asterisk's 50 ms of marks after it (60 bits).
SEIZURE_BITS = 300
MARK_BITS = 180
TRAILING_MARK_BITS = 60

# DTMF caller ID (telephony.md §5.4, ⚠ variants disagree): 70 ms on / 70 ms off as seen in
# bcm63xx_phone; the 'C'-terminated variant: A<number>C, absence as B<code>C with 00 private
# and 10 not available (spandsp's own variant-1 text gives the opposite: configurable).
DTMF_ON_MS = 70
DTMF_OFF_MS = 70
DTMF_START = "A"
DTMF_END = "C"
DTMF_ABSENCE_CODES = {"P": "00", "O": "10"}
_DTMF_DELIMITERS = "ABCD*#"
# Digits further apart than this belong to different DTMF caller IDs (ms); far more than the
# 70 ms gap between the digits of one (telephony.md §5.4).
_DTMF_GROUP_GAP_MS = 500

DATE_PATTERN = re.compile(r"(0[1-9]|1[0-2])(0[1-9]|[12][0-9]|3[01])([01][0-9]|2[0-3])[0-5][0-9]")


@dataclass(frozen=True)
class CallerId:
    """One caller-ID delivery.

    Attributes
    ----------
    number : str or None
        Calling number, ASCII digits 0-9; None when absent (see ``number_absent``).
    name : str or None
        Calling name (MDMF only); None when not sent.
    date : str or None
        "MMDDHHMM" (month, day, hour, minute); required by SDMF.
    format : {"mdmf", "sdmf", "dtmf"}
    number_absent, name_absent : {"O", "P"} or None
        Reason the number or name is missing: "O" unavailable (out of area), "P" private.
    extra : tuple of (int, bytes)
        MDMF parameters of other types, kept raw in their order.
    """
    number: str | None = None
    name: str | None = None
    date: str | None = None
    format: str = "mdmf"
    number_absent: str | None = None
    name_absent: str | None = None
    extra: tuple = ()

    def __post_init__(self):
        if self.format not in FORMATS:
            raise ValueError(f"caller ID format {self.format!r} is not one of {', '.join(FORMATS)}")
        if self.number is not None and (not self.number or not self.number.isascii()
                                        or not self.number.isdigit()):
            raise ValueError(f"caller ID number {self.number!r}: only the digits 0-9 are allowed")
        if self.date is not None and not DATE_PATTERN.fullmatch(self.date):
            raise ValueError(f"caller ID date {self.date!r} is not MMDDHHMM (e.g. 03171656)")
        for field in ("number_absent", "name_absent"):
            value = getattr(self, field)
            if value is not None and value not in ABSENCE_REASONS:
                raise ValueError(f"caller ID {field} {value!r} must be 'O' (unavailable) or 'P' (private)")
        if self.number is not None and self.number_absent is not None:
            raise ValueError("caller ID has both a number and a reason for its absence")
        if self.name is not None and self.name_absent is not None:
            raise ValueError("caller ID has both a name and a reason for its absence")

    def as_dict(self):
        """The fields as a plain dict (extra parameters as hex strings)."""
        return {"number": self.number, "name": self.name, "date": self.date, "format": self.format,
                "number_absent": self.number_absent, "name_absent": self.name_absent,
                "extra": [[t, v.hex()] for t, v in self.extra]}


def _check_encoding(encoding):
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise ValueError(f"unknown name encoding {encoding!r} (use 'ascii' or 'gbk')") from None


def checksum(data):
    """Two's complement of the sum of the bytes, mod 256 (telephony.md §5.2)."""
    return -sum(data) & 0xFF


def _param(ptype, value):
    if len(value) > 255:
        raise ValueError(f"MDMF parameter 0x{ptype:02X} is {len(value)} bytes long (255 at most)")
    return bytes([ptype, len(value)]) + value


def encode_message(cid, encoding="ascii"):
    """Build the SDMF or MDMF message of a caller ID, checksum included.

    Parameters
    ----------
    cid : CallerId
        ``format`` "sdmf" or "mdmf". SDMF carries a date (required) and the number or a reason
        for its absence; MDMF carries any of date, number, name and the extra parameters.
    encoding : str
        Codec of the name ("ascii" by default; "gbk" for Chinese names, ⚠ unconfirmed).

    Returns
    -------
    bytes

    Raises
    ------
    ValueError
        DTMF format, SDMF without a date, a name the encoding cannot carry, or a message
        longer than 255 payload bytes.
    """
    _check_encoding(encoding)
    if cid.format == "sdmf":
        if cid.date is None:
            raise ValueError("an SDMF caller ID needs a date (MMDDHHMM)")
        if cid.name is not None or cid.extra:
            raise ValueError("SDMF carries no name or other parameters: use MDMF")
        mtype = SDMF_CALLER_ID
        payload = (cid.date + (cid.number or cid.number_absent or "O")).encode("ascii")
    elif cid.format == "mdmf":
        mtype = MDMF_CALLER_ID
        payload = b""
        if cid.date is not None:
            payload += _param(PARAM_DATE, cid.date.encode("ascii"))
        if cid.number is not None:
            payload += _param(PARAM_NUMBER, cid.number.encode("ascii"))
        else:
            payload += _param(PARAM_NUMBER_ABSENT, (cid.number_absent or "O").encode("ascii"))
        if cid.name is not None:
            try:
                payload += _param(PARAM_NAME, cid.name.encode(encoding))
            except UnicodeEncodeError:
                raise ValueError(f"caller ID name {cid.name!r} cannot be encoded as {encoding}") from None
        elif cid.name_absent is not None:
            payload += _param(PARAM_NAME_ABSENT, cid.name_absent.encode("ascii"))
        for ptype, value in cid.extra:
            payload += _param(ptype, bytes(value))
    else:
        raise ValueError(f"caller ID format {cid.format!r} has no FSK message (use encode_dtmf)")
    if len(payload) > 255:
        raise ValueError(f"caller ID message payload is {len(payload)} bytes (255 at most)")
    body = bytes([mtype, len(payload)]) + payload
    return body + bytes([checksum(body)])


def _ascii(value, what):
    try:
        return value.decode("ascii")
    except UnicodeDecodeError:
        raise ValueError(f"{what} is not ASCII: {value.hex()}") from None


def _reason(value, what):
    text = _ascii(value, what)
    if text not in ABSENCE_REASONS:
        raise ValueError(f"{what} {text!r} is not 'O' or 'P'")
    return text


def decode_message(data, encoding="ascii"):
    """Parse an SDMF or MDMF caller-ID message.

    Parameters
    ----------
    data : bytes-like
        ``[type][length][payload][checksum]``; bytes after the checksum are ignored.
    encoding : str
        Codec of the name ("ascii" by default, "gbk"); undecodable bytes become U+FFFD.

    Returns
    -------
    (CallerId, bool)
        The caller ID and whether the checksum is right.

    Raises
    ------
    ValueError
        Not a caller-ID message type, truncated, or a malformed payload.
    """
    _check_encoding(encoding)
    data = bytes(data)
    if len(data) < 3:
        raise ValueError(f"caller ID message of {len(data)} bytes is too short")
    mtype, length = data[0], data[1]
    if mtype not in (SDMF_CALLER_ID, MDMF_CALLER_ID):
        raise ValueError(f"message type 0x{mtype:02X} is not SDMF (0x04) or MDMF (0x80) caller ID")
    if len(data) < length + 3:
        raise ValueError(f"caller ID message is truncated: {len(data)} bytes, length field says {length + 3}")
    payload = data[2:2 + length]
    checksum_ok = sum(data[:length + 3]) & 0xFF == 0
    if mtype == SDMF_CALLER_ID:
        if length < 9:
            raise ValueError(f"SDMF payload of {length} bytes is shorter than date + number")
        text = _ascii(payload, "SDMF payload")
        date, rest = text[:8], text[8:]
        if rest in ABSENCE_REASONS:
            return CallerId(None, None, date, "sdmf", number_absent=rest), checksum_ok
        return CallerId(rest, None, date, "sdmf"), checksum_ok

    fields = {}
    extra = []
    i = 0
    while i < len(payload):
        if i + 2 > len(payload) or i + 2 + payload[i + 1] > len(payload):
            raise ValueError(f"MDMF parameter at offset {i} runs past the payload")
        ptype, plen = payload[i], payload[i + 1]
        value = payload[i + 2:i + 2 + plen]
        i += 2 + plen
        if ptype == PARAM_DATE:
            fields["date"] = _ascii(value, "MDMF date")
        elif ptype == PARAM_NUMBER:
            fields["number"] = _ascii(value, "MDMF number")
        elif ptype == PARAM_NUMBER_ABSENT:
            fields["number_absent"] = _reason(value, "MDMF reason for absent number")
        elif ptype == PARAM_NAME:
            fields["name"] = value.decode(encoding, errors="replace")
        elif ptype == PARAM_NAME_ABSENT:
            fields["name_absent"] = _reason(value, "MDMF reason for absent name")
        else:
            extra.append((ptype, value))
    return CallerId(format="mdmf", extra=tuple(extra), **fields), checksum_ok


# --- DTMF caller ID -----------------------------------------------------------------------

def encode_dtmf(cid, start=DTMF_START, end=DTMF_END, absence_codes=None):
    """The DTMF digit string of a caller ID, e.g. "A2156430144C" (telephony.md §5.4, ⚠).

    Parameters
    ----------
    cid : CallerId
        Its number, or its ``number_absent`` reason (sent as B<code>).
    start, end : str
        Start and end digits, each one of A B C D * # (China: any of them, ⚠).
    absence_codes : dict, optional
        Reason -> two-digit code; :data:`DTMF_ABSENCE_CODES` by default.
    """
    codes = DTMF_ABSENCE_CODES if absence_codes is None else absence_codes
    for what, ch in (("start", start), ("end", end)):
        if len(ch) != 1 or ch not in _DTMF_DELIMITERS:
            raise ValueError(f"DTMF caller ID {what} digit {ch!r} must be one of {_DTMF_DELIMITERS}")
    if cid.number is not None:
        return f"{start}{cid.number}{end}"
    return f"B{codes[cid.number_absent or 'O']}{end}"


def decode_dtmf(digits, absence_codes=None):
    """Parse a DTMF caller ID ("A<number>C", "D<number>#", "B00C", ...).

    Returns
    -------
    CallerId or None
        None when the string holds no caller ID (no start digit, or no number and no reason).
    """
    codes = DTMF_ABSENCE_CODES if absence_codes is None else absence_codes
    reasons = {code: reason for reason, code in codes.items()}
    fields = re.findall(r"([ABCD*#])([0-9]*)", digits)
    number = None
    absent = None
    for i, (key, value) in enumerate(fields):
        if not value:
            continue
        if key == "B" and value in reasons:
            absent = reasons[value]
        elif number is None and (i == 0 or key == "A"):
            number = value
    if number is not None:
        return CallerId(number, format="dtmf")
    if absent is not None:
        return CallerId(None, format="dtmf", number_absent=absent)
    return None


# --- on-hook data signal -------------------------------------------------------------------

def onhook_signal(cid, mode="bell202", level_dbm0=-14.0, encoding="ascii", seizure_bits=SEIZURE_BITS,
                  mark_bits=MARK_BITS, trailing_mark_bits=TRAILING_MARK_BITS):
    """The caller-ID data signal heard between rings, as 8 kHz int16 samples.

    Parameters
    ----------
    cid : CallerId
    mode : {"bell202", "v23", "dtmf"}
        FSK standard, or DTMF digits (70 ms on / 70 ms off, telephony.md §5.4).
    level_dbm0 : float
        FSK level, or the level of each DTMF tone, dBm0 (-14 by default, as spandsp).
    encoding : str
        Codec of the name (see :func:`encode_message`).
    seizure_bits, mark_bits, trailing_mark_bits : int
        Channel seizure (0101...), marks before and after the message (FSK modes).

    Returns
    -------
    numpy.ndarray of int16
    """
    if mode not in MODES:
        raise ValueError(f"caller ID mode {mode!r} is not one of {', '.join(MODES)}")
    if mode == "dtmf":
        return dsp.dtmf_samples(encode_dtmf(cid), level_dbm0=level_dbm0, on_ms=DTMF_ON_MS, off_ms=DTMF_OFF_MS)
    message = encode_message(cid, encoding)
    with dsp.FskTransmitter(mode, level_dbm0) as tx:
        tx.put_alternating(0, seizure_bits)
        tx.put_bits(1, mark_bits)
        tx.put_bytes(message)
        tx.put_bits(1, trailing_mark_bits)
        return tx.generate()


# A character is 10 bits = 66.7 samples at 1200 baud; bytes closer than this are one burst.
_BURST_GAP = 100
_SEIZURE_BYTE = 0x55


def _bursts(reports):
    """Group received bytes into bursts of back-to-back characters: [[(pos, byte), ...], ...]."""
    bursts = []
    last = None
    for r in reports:
        if r.kind != "byte":
            last = None
            continue
        if last is None or r.pos - last > _BURST_GAP:
            bursts.append([])
        bursts[-1].append((r.pos, r.value))
        last = r.pos
    return bursts


def _messages(reports, encoding):
    """(position, end position, CallerId, checksum_ok) for each message in the byte stream."""
    found = []
    for burst in _bursts(reports):
        data = bytes(b for _, b in burst)
        # A message starts a burst (after the marks) or follows the seizure's 0x55 run directly.
        candidates = [0]
        run = len(data) - len(data.lstrip(bytes([_SEIZURE_BYTE])))
        if 0 < run < len(data):
            candidates.append(run)
        for i in candidates:
            if data[i] not in (SDMF_CALLER_ID, MDMF_CALLER_ID) or i + 1 >= len(data):
                continue
            end = i + data[i + 1] + 3
            if end > len(data):
                continue
            try:
                cid, ok = decode_message(data[i:end], encoding)
            except ValueError:
                continue
            found.append((burst[i][0], burst[end - 1][0], cid, ok))
            break
    return found


def _fsk_mode(samples, first, last):
    """Bell 202 or V.23, from which pair of tones carries more power in [first, last)."""
    seg = samples[max(first, 0):last].astype(np.float64)
    power = np.abs(np.fft.rfft(seg)) ** 2
    freqs = np.fft.rfftfreq(seg.size, 1.0 / dsp.SAMPLE_RATE)

    def near(f):
        # +-50 Hz around each tone: wider than the +-1 % tolerance of telephony.md §5.1.
        return power[np.abs(freqs - f) <= 50].sum()

    bell = near(1200) + near(2200)
    v23 = near(1300) + near(2100)
    return "bell202" if bell >= v23 else "v23"


def decode_onhook(samples, encoding="ascii", absence_codes=None):
    """Find caller IDs (FSK Bell 202 or V.23, or DTMF) in a recording.

    Parameters
    ----------
    samples : numpy array or s16le bytes-like, 8 kHz
    encoding : str
        Codec of MDMF names ("ascii" by default, "gbk").
    absence_codes : dict, optional
        DTMF reason codes (see :func:`encode_dtmf`).

    Returns
    -------
    list of (CallerId, checksum_ok, mode)
        In order of appearance. ``mode`` is "bell202", "v23" or "dtmf"; ``checksum_ok`` is None
        for DTMF caller ID, which has no checksum.
    """
    _check_encoding(encoding)
    x = dsp._samples_i16(samples)
    found = []
    # Either receiver usually decodes both standards (the tones are 100 Hz apart); a message
    # found by both is reported once, with the mode measured from its tones.
    for standard in ("bell202", "v23"):
        for pos, end, cid, ok in _messages(dsp.fsk_receive(x, standard), encoding):
            if any(abs(pos - p) < _BURST_GAP for p, *_ in found):
                continue
            found.append((pos, end, cid, ok))
    results = [(pos, cid, ok, _fsk_mode(x, pos - 2 * dsp.SAMPLE_RATE // 10, end)) for pos, end, cid, ok in found]

    groups = []
    last_end = None
    for event in dsp.detect_dtmf(x):
        if last_end is None or event.start - last_end > _DTMF_GROUP_GAP_MS * dsp.SAMPLE_RATE // 1000:
            groups.append([event.start, ""])
        groups[-1][1] += event.digit
        last_end = event.end
    for start, digits in groups:
        cid = decode_dtmf(digits, absence_codes)
        if cid is not None:
            results.append((start, cid, None, "dtmf"))
    results.sort(key=lambda r: r[0])
    return [(cid, ok, mode) for _, cid, ok, mode in results]
