"""Test-signal generator written independently of native/ (numpy only).

Signals follow the receiver test procedures (Mitel CM7291, Bellcore): each tone of a DTMF
pair has its own frequency offset and level, a random start phase (seeded), and the result
can be passed through a G.711 round trip implemented here in pure Python after G.191.
"""
import numpy as np

FS = 8000
ROWS = (697.0, 770.0, 852.0, 941.0)
COLS = (1209.0, 1336.0, 1477.0, 1633.0)
KEYPAD = "123A456B789C*0#D"
DBM0_RMS = 16141.0  # RMS of a 0 dBm0 sine: +3.14 dBm0 is the A-law maximum (G.711)


def digit_freqs(digit):
    i = KEYPAD.index(digit)
    return ROWS[i // 4], COLS[i % 4]


def amplitude(dbm0):
    """Peak amplitude of a sine at dbm0."""
    return DBM0_RMS * np.sqrt(2.0) * 10.0 ** (dbm0 / 20.0)


def sine(freq, ms, dbm0, rng, n=None):
    n = int(round(FS * ms / 1000.0)) if n is None else n
    t = np.arange(n) / FS
    return amplitude(dbm0) * np.sin(2 * np.pi * freq * t + rng.uniform(0, 2 * np.pi))


def dtmf_tone(digit, ms, rng, row_dbm0=-10.0, col_dbm0=None, row_offset=0.0, col_offset=0.0,
              row_hz_extra=0.0, col_hz_extra=0.0):
    """One DTMF tone burst (float). Offsets are relative (0.015 = +1.5 %), extras in Hz."""
    row, col = digit_freqs(digit)
    col_dbm0 = row_dbm0 if col_dbm0 is None else col_dbm0
    n = int(round(FS * ms / 1000.0))
    return (sine(row * (1 + row_offset) + row_hz_extra, ms, row_dbm0, rng, n)
            + sine(col * (1 + col_offset) + col_hz_extra, ms, col_dbm0, rng, n))


def silence(ms):
    return np.zeros(int(round(FS * ms / 1000.0)))


def digit_string(digits, rng, on_ms=50.0, off_ms=50.0, lead_ms=100.0, tail_ms=100.0, **tone_kw):
    parts = [silence(lead_ms)]
    for d in digits:
        parts += [dtmf_tone(d, on_ms, rng, **tone_kw), silence(off_ms)]
    parts.append(silence(tail_ms))
    return np.concatenate(parts)


def white_noise(n, dbm0, rng):
    """Gaussian white noise over 0-4 kHz with total power dbm0."""
    return rng.standard_normal(n) * DBM0_RMS * 10.0 ** (dbm0 / 20.0)


def to_int16(x):
    return np.clip(np.round(x), -32768, 32767).astype(np.int16)


# --- G.711 after ITU-T G.191 (one's complement of negative inputs) -------------------------

def g191_alaw_encode(x):
    ix = (~x if x < 0 else x) >> 4
    if ix > 15:
        e = 1
        while ix > 31:
            ix >>= 1
            e += 1
        ix = (ix - 16) + (e << 4)
    if x >= 0:
        ix |= 0x80
    return ix ^ 0x55


def g191_alaw_decode(c):
    ix = (c ^ 0x55) & 0x7F
    e = ix >> 4
    m = ix & 15
    if e > 0:
        m += 16
    m = (m << 4) + 8
    if e > 1:
        m <<= e - 1
    return m if c > 0x7F else -m


def g191_ulaw_encode(x):
    a = ((~x if x < 0 else x) >> 2) + 33
    a = min(a, 0x1FFF)
    seg = 1 + (a >> 6).bit_length()
    code = ((8 - seg) << 4) | (15 - ((a >> seg) & 15))
    if x >= 0:
        code |= 0x80
    return code


def g191_ulaw_decode(c):
    sign = -1 if c < 0x80 else 1
    m = ~c & 0xFF
    e = (m >> 4) & 7
    step = 4 << (e + 1)
    return sign * ((0x80 << e) + step * (m & 15) + step // 2 - 132)


_ALAW_ENC = np.array([g191_alaw_encode(v) for v in range(-32768, 32768)], dtype=np.uint8)
_ULAW_ENC = np.array([g191_ulaw_encode(v) for v in range(-32768, 32768)], dtype=np.uint8)
_ALAW_DEC = np.array([g191_alaw_decode(c) for c in range(256)], dtype=np.int16)
_ULAW_DEC = np.array([g191_ulaw_decode(c) for c in range(256)], dtype=np.int16)


def codec_munge(x16, law):
    """Pass int16 samples through a G.711 encode/decode round trip ("alaw" or "ulaw")."""
    idx = x16.astype(np.int32) + 32768
    if law == "alaw":
        return _ALAW_DEC[_ALAW_ENC[idx]]
    if law == "ulaw":
        return _ULAW_DEC[_ULAW_ENC[idx]]
    return x16
