"""Audio files in and out: WAV of the common formats, and raw 8 kHz s16le.

Reading (:func:`read_audio`, :func:`read_wav`, :func:`read_raw`):

- the RIFF/WAVE container is parsed here, because the standard library's ``wave`` module
  refuses G.711 files; ``LIST``, ``fact`` and other chunks are skipped;
- encodings: PCM 8 bit (unsigned), 16, 24 and 32 bit (signed), IEEE float 32 and 64 bit,
  A-law (format tag 6), mu-law (format tag 7), and the same inside WAVE_FORMAT_EXTENSIBLE;
- one channel is taken: the first by default (the left one of a stereo file), or the one
  named by ``channel`` (0-based); channels are never mixed, so a call recorded as
  caller-left / agent-right can be examined one side at a time;
- samples become 16-bit linear: wider PCM is rounded to its top 16 bits, float is scaled so
  that 1.0 is 32768 and clipped, 8-bit PCM is shifted up;
- :func:`read_audio` then converts to the core's 8000 samples/s with
  :class:`voiceboard.dsp.Resampler` (flat to 3400 Hz, >= 70 dB alias rejection).

Writing (:func:`write_wav`): 16-bit linear, A-law or mu-law WAV, mono.

Every problem with a file raises :class:`voiceboard.errors.AudioFormatError` with a one-line
message that starts with the file name.
"""
import struct
from dataclasses import dataclass

import numpy as np

from voiceboard import dsp
from voiceboard.errors import AudioFormatError

# Format tags (Microsoft mmreg.h; RFC 2361 lists the registered ones).
WAVE_FORMAT_PCM = 0x0001
WAVE_FORMAT_IEEE_FLOAT = 0x0003
WAVE_FORMAT_ALAW = 0x0006
WAVE_FORMAT_MULAW = 0x0007
WAVE_FORMAT_EXTENSIBLE = 0xFFFE
# A few tags people meet, named in the error message when refused.
_TAG_NAMES = {0x0002: "MS ADPCM", 0x0011: "IMA ADPCM", 0x0031: "GSM 6.10", 0x0050: "MPEG",
              0x0055: "MPEG layer 3", 0x0092: "Dolby AC3"}
# KSDATAFORMAT_SUBTYPE_xxx GUIDs of WAVE_FORMAT_EXTENSIBLE: the format tag in the first two
# bytes, then this fixed tail (00000000-0010-8000-00AA00389B71, mmreg.h / ksmedia.h).
_SUBTYPE_TAIL = bytes.fromhex("000000001000800000aa00389b71")

_ENCODINGS = {WAVE_FORMAT_PCM: ("pcm", (8, 16, 24, 32)), WAVE_FORMAT_IEEE_FLOAT: ("float", (32, 64)),
              WAVE_FORMAT_ALAW: ("alaw", (8,)), WAVE_FORMAT_MULAW: ("ulaw", (8,))}

CODECS = ("linear", "alaw", "ulaw")


@dataclass(frozen=True)
class AudioInfo:
    """What a file held: ``encoding`` is "pcm", "float", "alaw" or "ulaw"; ``rate`` in
    samples/s; ``bits`` per sample as stored; ``frames`` = samples per channel."""
    path: str
    encoding: str
    rate: int
    channels: int
    bits: int
    frames: int
    channel: int = 0

    @property
    def seconds(self):
        return self.frames / self.rate


def _read_bytes(path):
    try:
        with open(path, "rb") as f:
            return f.read()
    except FileNotFoundError:
        raise AudioFormatError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise AudioFormatError(f"{path}: is a directory, not an audio file") from None
    except OSError as exc:
        raise AudioFormatError(f"{path}: cannot read: {exc.strerror or exc}") from None


def _parse_fmt(path, body):
    """(tag, channels, rate, block_align, bits) from a 'fmt ' chunk body."""
    if len(body) < 16:
        raise AudioFormatError(f"{path}: 'fmt ' chunk is {len(body)} bytes, needs at least 16")
    tag, channels, rate, _byte_rate, block_align, bits = struct.unpack("<HHIIHH", body[:16])
    if tag == WAVE_FORMAT_EXTENSIBLE:
        # cbSize (2), valid bits (2), channel mask (4), sub-format GUID (16).
        if len(body) < 40:
            raise AudioFormatError(f"{path}: WAVE_FORMAT_EXTENSIBLE 'fmt ' chunk is {len(body)} bytes, needs 40")
        guid = body[24:40]
        if guid[2:] != _SUBTYPE_TAIL:
            raise AudioFormatError(f"{path}: unsupported WAVE_FORMAT_EXTENSIBLE sub-format {guid.hex()}")
        tag = struct.unpack("<H", guid[:2])[0]
    if tag not in _ENCODINGS:
        name = f" ({_TAG_NAMES[tag]})" if tag in _TAG_NAMES else ""
        raise AudioFormatError(f"{path}: unsupported format tag {tag:#06x}{name}; supported: PCM, "
                               "IEEE float, A-law (6), mu-law (7)")
    encoding, depths = _ENCODINGS[tag]
    if bits not in depths:
        raise AudioFormatError(f"{path}: unsupported bit depth {bits} for {encoding} "
                               f"(supported: {', '.join(map(str, depths))})")
    if channels < 1:
        raise AudioFormatError(f"{path}: 'fmt ' chunk says {channels} channels")
    if block_align < channels * bits // 8:
        raise AudioFormatError(f"{path}: block align {block_align} is too small for "
                               f"{channels} channel(s) of {bits} bits")
    if not dsp.RESAMPLE_MIN_RATE <= rate <= dsp.RESAMPLE_MAX_RATE:
        raise AudioFormatError(f"{path}: sample rate {rate} Hz is not supported "
                               f"({dsp.RESAMPLE_MIN_RATE} to {dsp.RESAMPLE_MAX_RATE})")
    return encoding, channels, rate, block_align, bits


def _chunks(path, data):
    """The 'fmt ' body and the 'data' body of a RIFF/WAVE image."""
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise AudioFormatError(f"{path}: not a RIFF/WAVE file (use --raw for headerless 8 kHz s16le)")
    fmt = None
    pos = 12
    while pos < len(data):
        if pos + 8 > len(data):
            raise AudioFormatError(f"{path}: truncated chunk header at byte {pos}")
        cid = data[pos:pos + 4]
        size = struct.unpack("<I", data[pos + 4:pos + 8])[0]
        start, end = pos + 8, pos + 8 + size
        name = cid.decode("latin-1")
        if end > len(data):
            raise AudioFormatError(f"{path}: truncated {name!r} chunk: header says {size} bytes, "
                                   f"{len(data) - start} present")
        if cid == b"fmt ":
            fmt = data[start:end]
        elif cid == b"data":
            if fmt is None:
                raise AudioFormatError(f"{path}: 'data' chunk comes before the 'fmt ' chunk")
            return fmt, data[start:end]
        pos = end + (size & 1)  # chunks are padded to an even length
    raise AudioFormatError(f"{path}: no {'data' if fmt is not None else 'fmt '!r} chunk")


def _to_int16(frames, encoding, bits):
    """One channel's bytes (frames x bytes-per-sample, uint8) to int16 samples."""
    if encoding == "alaw":
        return dsp.alaw2lin(np.ascontiguousarray(frames[:, 0]))
    if encoding == "ulaw":
        return dsp.ulaw2lin(np.ascontiguousarray(frames[:, 0]))
    if encoding == "float":
        x = np.ascontiguousarray(frames).view("<f4" if bits == 32 else "<f8")[:, 0]
        x = np.nan_to_num(x.astype(np.float64), nan=0.0)
        return np.clip(np.round(x * 32768.0), -32768, 32767).astype(np.int16)
    if bits == 8:
        # 8-bit WAV PCM is unsigned, 128 = zero.
        return ((frames[:, 0].astype(np.int16) - 128) << 8).astype(np.int16)
    if bits == 16:
        return np.ascontiguousarray(frames).view("<i2")[:, 0].astype(np.int16)
    if bits == 24:
        v = (frames[:, 0].astype(np.int32) | (frames[:, 1].astype(np.int32) << 8)
             | (frames[:, 2].astype(np.int32) << 16))
        v = (v << 8) >> 8  # sign-extend 24 to 32 bits
    else:
        v = np.ascontiguousarray(frames).view("<i4")[:, 0].astype(np.int64)
    shift = bits - 16
    v = (v.astype(np.int64) + (1 << (shift - 1))) >> shift
    return np.clip(v, -32768, 32767).astype(np.int16)


def read_wav(path, channel=0):
    """Read one channel of a WAV file at its own rate.

    Parameters
    ----------
    path : str or path-like
    channel : int
        0-based channel to take (0 = first / left).

    Returns
    -------
    (numpy.ndarray of int16, AudioInfo)

    Raises
    ------
    AudioFormatError
        Missing or unreadable file, not RIFF/WAVE, truncated chunk, unsupported format tag or
        bit depth, no such channel, or no samples.
    """
    data = _read_bytes(path)
    fmt, body = _chunks(path, data)
    encoding, channels, rate, block_align, bits = _parse_fmt(path, fmt)
    if not 0 <= channel < channels:
        raise AudioFormatError(f"{path}: no channel {channel}: the file has {channels} "
                               f"(numbered from 0)")
    if len(body) % block_align:
        raise AudioFormatError(f"{path}: 'data' chunk holds {len(body)} bytes, not a whole number "
                               f"of {block_align}-byte frames")
    frames = len(body) // block_align
    if frames == 0:
        raise AudioFormatError(f"{path}: no audio samples (empty 'data' chunk)")
    width = bits // 8
    grid = np.frombuffer(body, dtype=np.uint8).reshape(frames, block_align)
    samples = _to_int16(grid[:, channel * width:(channel + 1) * width], encoding, bits)
    return samples, AudioInfo(str(path), encoding, rate, channels, bits, frames, channel)


def read_raw(path):
    """Read headerless 8 kHz, 16-bit little-endian, mono samples (int16 array)."""
    data = _read_bytes(path)
    if not data:
        raise AudioFormatError(f"{path}: no audio samples (empty file)")
    if len(data) % 2:
        raise AudioFormatError(f"{path}: raw audio must be 16-bit samples, but the file has an odd "
                               f"length ({len(data)} bytes)")
    return np.frombuffer(data, dtype="<i2").astype(np.int16)


def read_audio(path, raw=False, channel=0):
    """Read a WAV (or, with ``raw``, headerless s16le) file as 8 kHz int16 samples.

    Returns
    -------
    (numpy.ndarray of int16 at 8000 samples/s, AudioInfo of the file as stored)
    """
    if raw:
        if channel != 0:
            raise AudioFormatError(f"{path}: raw audio is mono: there is no channel {channel}")
        samples = read_raw(path)
        return samples, AudioInfo(str(path), "pcm", dsp.SAMPLE_RATE, 1, 16, samples.size)
    samples, info = read_wav(path, channel)
    if info.rate != dsp.SAMPLE_RATE:
        samples = dsp.resample(samples, info.rate, dsp.SAMPLE_RATE)
    return samples, info


def wav_bytes(samples, codec="linear", rate=dsp.SAMPLE_RATE):
    """A mono WAV image of int16 samples: ``codec`` "linear" (16-bit PCM), "alaw" or "ulaw"."""
    if codec not in CODECS:
        raise ValueError(f"unknown codec {codec!r} (choose from {', '.join(CODECS)})")
    arr = dsp._samples_i16(samples)
    chunks = []
    if codec == "linear":
        fmt = struct.pack("<HHIIHH", WAVE_FORMAT_PCM, 1, rate, rate * 2, 2, 16)
        body = arr.astype("<i2").tobytes()
    else:
        tag, encode = (WAVE_FORMAT_ALAW, dsp.lin2alaw) if codec == "alaw" else (WAVE_FORMAT_MULAW, dsp.lin2ulaw)
        # Non-PCM formats carry cbSize and a 'fact' chunk with the sample count.
        fmt = struct.pack("<HHIIHHH", tag, 1, rate, rate, 1, 8, 0)
        body = encode(arr).tobytes()
        chunks.append(b"fact" + struct.pack("<II", 4, arr.size))
    chunks.insert(0, b"fmt " + struct.pack("<I", len(fmt)) + fmt)
    chunks.append(b"data" + struct.pack("<I", len(body)) + body + b"\0" * (len(body) & 1))
    riff = b"WAVE" + b"".join(chunks)
    return b"RIFF" + struct.pack("<I", len(riff)) + riff


def write_wav(path, samples, codec="linear", rate=dsp.SAMPLE_RATE):
    """Write int16 samples as a mono WAV file (see :func:`wav_bytes`)."""
    image = wav_bytes(samples, codec, rate)
    with open(path, "wb") as f:
        f.write(image)
