"""voiceboard.audio: WAV files are written here byte by byte (struct + numpy) or by sox, never
by the module under test, except where its writer is the subject."""
import math
import struct
import subprocess
import wave

import numpy as np
import pytest

import signals
from voiceboard import audio
from voiceboard.errors import AudioFormatError

GUID_TAIL = bytes.fromhex("000000001000800000aa00389b71")


def riff(*chunks):
    body = b"WAVE" + b"".join(chunks)
    return b"RIFF" + struct.pack("<I", len(body)) + body


def chunk(cid, body):
    return cid + struct.pack("<I", len(body)) + body + b"\0" * (len(body) & 1)


def fmt_chunk(tag, channels, rate, bits, extensible=False, subformat=None):
    align = channels * bits // 8
    if not extensible:
        return chunk(b"fmt ", struct.pack("<HHIIHH", tag, channels, rate, rate * align, align, bits))
    guid = subformat if subformat is not None else struct.pack("<H", tag) + GUID_TAIL
    return chunk(b"fmt ", struct.pack("<HHIIHHHHI", 0xFFFE, channels, rate, rate * align, align, bits,
                                      22, bits, 0) + guid)


def write(tmp_path, name, image):
    path = tmp_path / name
    path.write_bytes(image)
    return str(path)


def test_16bit_mono_at_8k_is_read_exactly(tmp_path, rng):
    x = signals.to_int16(rng.standard_normal(800) * 5000)
    path = write(tmp_path, "a.wav", riff(fmt_chunk(1, 1, 8000, 16), chunk(b"data", x.astype("<i2").tobytes())))
    y, info = audio.read_audio(path)
    assert np.array_equal(y, x)
    assert (info.encoding, info.rate, info.channels, info.bits, info.frames) == ("pcm", 8000, 1, 16, 800)


def test_stereo_takes_the_chosen_channel_and_skips_other_chunks(tmp_path, rng):
    left = signals.to_int16(rng.standard_normal(500) * 5000)
    right = signals.to_int16(rng.standard_normal(500) * 5000)
    inter = np.stack([left, right], axis=1).astype("<i2").tobytes()
    # An odd-sized LIST chunk first: the reader must honour the pad byte.
    path = write(tmp_path, "s.wav", riff(fmt_chunk(1, 2, 8000, 16), chunk(b"LIST", b"INFOabc"),
                                         chunk(b"data", inter)))
    assert np.array_equal(audio.read_wav(path)[0], left)
    assert np.array_equal(audio.read_wav(path, channel=1)[0], right)
    with pytest.raises(AudioFormatError, match=r"s\.wav: no channel 2: the file has 2"):
        audio.read_wav(path, channel=2)


def test_pcm_depths_and_float(tmp_path, rng):
    v = rng.integers(-2 ** 23, 2 ** 23, 300)
    u8 = rng.integers(0, 256, 300).astype(np.uint8)
    f = rng.uniform(-1.2, 1.2, 300)
    cases = {
        "u8": (fmt_chunk(1, 1, 8000, 8), u8.tobytes(), (u8.astype(int) - 128) * 256),
        "s24": (fmt_chunk(1, 1, 8000, 24),
                b"".join(int(s).to_bytes(3, "little", signed=True) for s in v),
                np.clip(np.floor(v / 256 + 0.5), -32768, 32767)),
        "s32": (fmt_chunk(1, 1, 8000, 32), (v * 256).astype("<i4").tobytes(),
                np.clip(np.floor(v / 256 + 0.5), -32768, 32767)),
        "f32": (fmt_chunk(3, 1, 8000, 32), f.astype("<f4").tobytes(),
                np.clip(np.round(f.astype(np.float32).astype(float) * 32768), -32768, 32767)),
        "f64": (fmt_chunk(3, 1, 8000, 64), f.astype("<f8").tobytes(), np.clip(np.round(f * 32768), -32768, 32767)),
        "ext16": (fmt_chunk(1, 1, 8000, 16, extensible=True), (v // 256).astype("<i2").tobytes(), v // 256),
        "extf32": (fmt_chunk(3, 1, 8000, 32, extensible=True), f.astype("<f4").tobytes(),
                   np.clip(np.round(f.astype(np.float32).astype(float) * 32768), -32768, 32767)),
    }
    for name, (fmt, data, expected) in cases.items():
        path = write(tmp_path, name + ".wav", riff(fmt, chunk(b"data", data)))
        y, _ = audio.read_wav(path)
        assert np.array_equal(y.astype(int), np.asarray(expected, dtype=int)), name


@pytest.mark.parametrize("law,tag", [("alaw", 6), ("ulaw", 7)])
def test_g711_files_decode_like_g191(tmp_path, rng, law, tag):
    x = signals.to_int16(rng.standard_normal(400) * 4000)
    enc = signals._ALAW_ENC if law == "alaw" else signals._ULAW_ENC
    codes = enc[x.astype(np.int32) + 32768]
    path = write(tmp_path, law + ".wav", riff(chunk(b"fmt ", struct.pack("<HHIIHHH", tag, 1, 8000, 8000, 1, 8, 0)),
                                              chunk(b"fact", struct.pack("<I", 400)), chunk(b"data", codes.tobytes())))
    y, info = audio.read_audio(path)
    assert info.encoding == law
    assert np.array_equal(y, signals.codec_munge(x, law))


def test_other_rates_are_converted_to_8k(tmp_path, rng):
    x = signals.to_int16(rng.standard_normal(44100) * 3000)
    path = write(tmp_path, "cd.wav", riff(fmt_chunk(1, 1, 44100, 16), chunk(b"data", x.astype("<i2").tobytes())))
    y, info = audio.read_audio(path)
    assert info.rate == 44100 and info.seconds == 1.0
    assert y.dtype == np.int16 and y.size == 8000


def sox_decode(path):
    """What sox itself reads from a file, as 16-bit samples."""
    raw = subprocess.run(["sox", "-D", str(path), "-t", "raw", "-e", "signed", "-b", "16", "-"],
                         check=True, capture_output=True).stdout
    return np.frombuffer(raw, "<i2")


def test_files_made_by_sox(tmp_path, rng):
    x = signals.to_int16(rng.standard_normal(1600) * 4000)
    src = tmp_path / "src.raw"
    src.write_bytes(x.astype("<i2").tobytes())
    base = ["sox", "-D", "-t", "raw", "-r", "8000", "-e", "signed", "-b", "16", "-c", "1", str(src)]
    # sox's G.711 encoder rounds where G.191 truncates, so the reference is sox's own decoding.
    for name, opts in {"alaw": ["-e", "a-law"], "ulaw": ["-e", "u-law"], "s32": ["-e", "signed", "-b", "32"],
                       "u8": ["-e", "unsigned", "-b", "8"], "f32": ["-e", "floating-point", "-b", "32"]}.items():
        out = tmp_path / (name + ".wav")
        subprocess.run(base + opts + [str(out)], check=True)
        y, info = audio.read_audio(str(out))
        assert np.array_equal(y, sox_decode(out)), name
        assert info.encoding == {"s32": "pcm", "u8": "pcm", "f32": "float"}.get(name, name)
    # Stereo 24-bit at 48 kHz (sox writes it as WAVE_FORMAT_EXTENSIBLE), channel 1 carrying a
    # signal inside both converters' pass bands, channel 0 silent.
    x = signals.to_int16(sum(signals.sine(f, 200, -12, rng) for f in (440.0, 1000.0, 2500.0)))
    src.write_bytes(x.astype("<i2").tobytes())
    out = tmp_path / "st.wav"
    subprocess.run(base + ["-b", "24", "-r", "48000", str(out), "remix", "0", "1"], check=True)
    y, info = audio.read_audio(str(out), channel=1)
    assert (info.channels, info.bits, info.rate) == (2, 24, 48000)
    assert audio.read_audio(str(out), channel=0)[0].any() == False  # noqa: E712 (numpy bool)
    core = slice(200, -200)
    err = y[core].astype(float) - x[core]
    assert math.sqrt(np.mean(err ** 2)) < 0.02 * math.sqrt(np.mean(x[core].astype(float) ** 2))


def test_raw_mode(tmp_path, rng):
    x = signals.to_int16(rng.standard_normal(321) * 5000)
    path = write(tmp_path, "x.raw", x.astype("<i2").tobytes())
    y, info = audio.read_audio(path, raw=True)
    assert np.array_equal(y, x) and info.rate == 8000


@pytest.mark.parametrize("codec", audio.CODECS)
def test_written_files_read_back(tmp_path, rng, codec):
    x = signals.to_int16(rng.standard_normal(801) * 5000)
    path = str(tmp_path / "w.wav")
    audio.write_wav(path, x, codec)
    expected = x if codec == "linear" else signals.codec_munge(x, codec)
    assert np.array_equal(audio.read_audio(path)[0], expected)
    assert np.array_equal(sox_decode(path), expected)
    if codec == "linear":
        with wave.open(path) as w:
            assert (w.getnchannels(), w.getsampwidth(), w.getframerate(), w.getnframes()) == (1, 2, 8000, 801)


def test_unknown_codec_is_refused():
    with pytest.raises(ValueError, match="unknown codec 'gsm'"):
        audio.wav_bytes(np.zeros(8, np.int16), "gsm")


PCM = fmt_chunk(1, 1, 8000, 16)
BAD = {
    "not_riff.wav": (b"ID3\x04" + b"\0" * 40, "not a RIFF/WAVE file"),
    "short.wav": (b"RIFF", "not a RIFF/WAVE file"),
    "trunc_data.wav": (riff(PCM) + b"data" + struct.pack("<I", 1000) + b"\0" * 10,
                       "truncated 'data' chunk: header says 1000 bytes, 10 present"),
    "trunc_header.wav": (riff(PCM) + b"dat", "truncated chunk header at byte 36"),
    "empty.wav": (riff(PCM, chunk(b"data", b"")), r"no audio samples \(empty 'data' chunk\)"),
    "mp3.wav": (riff(fmt_chunk(0x55, 1, 8000, 16), chunk(b"data", b"\0" * 8)),
                r"unsupported format tag 0x0055 \(MPEG layer 3\)"),
    "bits12.wav": (riff(fmt_chunk(1, 1, 8000, 12), chunk(b"data", b"\0" * 8)), "unsupported bit depth 12 for pcm"),
    "alaw16.wav": (riff(fmt_chunk(6, 1, 8000, 16), chunk(b"data", b"\0" * 8)), "unsupported bit depth 16 for alaw"),
    "guid.wav": (riff(fmt_chunk(1, 1, 8000, 16, extensible=True, subformat=b"\x01" * 16), chunk(b"data", b"\0" * 8)),
                 "unsupported WAVE_FORMAT_EXTENSIBLE sub-format"),
    "nofmt.wav": (riff(chunk(b"data", b"\0" * 8)), "'data' chunk comes before the 'fmt ' chunk"),
    "nodata.wav": (riff(PCM), "no 'data' chunk"),
    "fmt8.wav": (riff(chunk(b"fmt ", b"\1\0\1\0\x40\x1f\0\0"), chunk(b"data", b"\0" * 8)), "'fmt ' chunk is 8 bytes"),
    "rate.wav": (riff(fmt_chunk(1, 1, 500, 16), chunk(b"data", b"\0" * 8)), "sample rate 500 Hz is not supported"),
    "partial.wav": (riff(fmt_chunk(1, 2, 8000, 16), chunk(b"data", b"\0" * 6)), "not a whole number of 4-byte frames"),
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_files_raise_one_line_errors(tmp_path, name):
    image, message = BAD[name]
    path = write(tmp_path, name, image)
    with pytest.raises(AudioFormatError, match=message) as err:
        audio.read_audio(path)
    text = str(err.value)
    assert text.startswith(path + ": ") and "\n" not in text


def test_missing_file_directory_and_bad_raw(tmp_path):
    with pytest.raises(AudioFormatError, match="nope.wav: no such file"):
        audio.read_audio(str(tmp_path / "nope.wav"))
    with pytest.raises(AudioFormatError, match="is a directory"):
        audio.read_audio(str(tmp_path))
    odd = write(tmp_path, "odd.raw", b"\0\0\0")
    with pytest.raises(AudioFormatError, match=r"odd length \(3 bytes\)"):
        audio.read_audio(odd, raw=True)
    empty = write(tmp_path, "empty.raw", b"")
    with pytest.raises(AudioFormatError, match="empty.raw: no audio samples"):
        audio.read_audio(empty, raw=True)
    with pytest.raises(AudioFormatError, match="raw audio is mono"):
        audio.read_audio(odd, raw=True, channel=1)
