"""``voiceboard dtmf detect`` / ``voiceboard dtmf gen`` run as real commands (subprocesses).

Files for detect are written here with numpy from tests/signals.py formulas; the gen tests
read what the command wrote back through detect.
"""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

import signals
from test_audio import chunk, fmt_chunk, riff
from test_resample import dtmf_at

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ALL = "123A456B789C*0#D"


def voiceboard(*args):
    return subprocess.run([sys.executable, "-m", "voiceboard", *map(str, args)], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)


def detect(*args):
    r = voiceboard("dtmf", "detect", *args)
    assert r.returncode == 0, r.stderr
    return r.stdout


def pcm16(path, x, rate=8000, channels=1):
    path.write_bytes(riff(fmt_chunk(1, channels, rate, 16), chunk(b"data", x.astype("<i2").tobytes())))
    return path


def test_linear_8k(tmp_path, rng):
    x = signals.to_int16(signals.digit_string(ALL, rng))
    assert detect(pcm16(tmp_path / "a.wav", x)) == ALL + "\n"


def test_stereo_44k1_first_or_chosen_channel(tmp_path, rng):
    left = dtmf_at(44100, "159", rng)
    right = dtmf_at(44100, "*0#D", rng)
    n = max(left.size, right.size)
    stereo = np.zeros((n, 2), np.int16)
    stereo[:left.size, 0] = left
    stereo[:right.size, 1] = right
    path = pcm16(tmp_path / "st.wav", stereo.reshape(-1), 44100, 2)
    assert detect(path) == "159\n"
    assert detect("--channel", 1, path) == "*0#D\n"


def test_8bit_alaw_ulaw_and_float_48k(tmp_path, rng):
    x = signals.to_int16(signals.digit_string(ALL, rng))
    u8 = (np.clip(np.round(x / 256.0), -128, 127) + 128).astype(np.uint8)
    files = {"u8.wav": riff(fmt_chunk(1, 1, 8000, 8), chunk(b"data", u8.tobytes()))}
    for law, tag, table in (("alaw", 6, signals._ALAW_ENC), ("ulaw", 7, signals._ULAW_ENC)):
        codes = table[x.astype(np.int32) + 32768]
        files[law + ".wav"] = riff(fmt_chunk(tag, 1, 8000, 8), chunk(b"data", codes.tobytes()))
    f32 = dtmf_at(48000, ALL, rng).astype("<f4") / 32768.0
    files["f32.wav"] = riff(fmt_chunk(3, 1, 48000, 32), chunk(b"data", f32.astype("<f4").tobytes()))
    for name, image in files.items():
        (tmp_path / name).write_bytes(image)
        assert detect(tmp_path / name) == ALL + "\n", name


def test_raw_and_no_digits(tmp_path, rng):
    x = signals.to_int16(signals.digit_string("0#", rng))
    (tmp_path / "x.raw").write_bytes(x.astype("<i2").tobytes())
    assert detect("--raw", tmp_path / "x.raw") == "0#\n"
    quiet = signals.to_int16(signals.white_noise(8000, -40, rng))
    assert detect(pcm16(tmp_path / "q.wav", quiet)) == "\n"


def test_json_reports_timing_levels_twist_and_offsets(tmp_path, rng):
    x = signals.to_int16(signals.digit_string("1D", rng, on_ms=60, off_ms=80, row_dbm0=-12.0, col_dbm0=-16.0,
                                              row_offset=0.01))
    out = json.loads(detect("--json", "--mode", "strict", pcm16(tmp_path / "j.wav", x)))
    assert out["digits"] == "1D" and out["mode"] == "strict" and out["sample_rate"] == 8000
    assert out["format"] == {"encoding": "pcm", "rate": 8000, "channels": 1, "bits": 16, "channel": 0,
                             "seconds": x.size / 8000}
    for e, digit, start_ms, row_hz in zip(out["events"], "1D", (100, 240), (697, 941)):
        assert e["digit"] == digit
        assert abs(e["start_s"] - start_ms / 1000) <= 0.005
        assert abs(e["end_s"] - (start_ms + 60) / 1000) <= 0.005
        assert e["start_sample"] == round(e["start_s"] * 8000) and e["end_sample"] == round(e["end_s"] * 8000)
        assert abs(e["duration_ms"] - 60) <= 5
        assert abs(e["row_dbm0"] + 12) < 0.5 and abs(e["col_dbm0"] + 16) < 0.5
        assert abs(e["twist_db"] - 4) < 0.5
        assert abs(e["row_offset_hz"] - 0.01 * row_hz) < 1.5 and abs(e["col_offset_hz"]) < 1.5


def test_help_teaches_with_examples():
    for action in ("detect", "gen"):
        r = voiceboard("dtmf", action, "--help")
        assert r.returncode == 0 and "examples:" in r.stdout and f"voiceboard dtmf {action} " in r.stdout


def assert_one_line_error(r, *words):
    assert r.returncode != 0
    assert "Traceback" not in r.stderr
    lines = r.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("voiceboard: error:"), r.stderr
    for w in words:
        assert w in lines[0], (w, lines[0])


def test_detect_errors(tmp_path):
    pcm = fmt_chunk(1, 1, 8000, 16)
    cases = {
        "not_riff.wav": (b"just some text\n", "not a RIFF/WAVE file"),
        "trunc.wav": (riff(pcm) + b"data" + (999).to_bytes(4, "little") + b"\0" * 4, "truncated 'data' chunk"),
        "empty.wav": (riff(pcm, chunk(b"data", b"")), "no audio samples"),
        "gsm.wav": (riff(fmt_chunk(0x31, 1, 8000, 16), chunk(b"data", b"\0" * 4)), "unsupported format tag 0x0031"),
        "bits20.wav": (riff(fmt_chunk(1, 1, 8000, 20), chunk(b"data", b"\0" * 10)), "unsupported bit depth 20"),
    }
    for name, (image, words) in cases.items():
        (tmp_path / name).write_bytes(image)
        assert_one_line_error(voiceboard("dtmf", "detect", tmp_path / name), name, words)
    assert_one_line_error(voiceboard("dtmf", "detect", tmp_path / "missing.wav"), "missing.wav", "no such file")
    (tmp_path / "odd.raw").write_bytes(b"\0")
    assert_one_line_error(voiceboard("dtmf", "detect", "--raw", tmp_path / "odd.raw"), "odd length")
    (tmp_path / "ok.wav").write_bytes(riff(pcm, chunk(b"data", b"\0\0")))
    assert_one_line_error(voiceboard("dtmf", "detect", "--channel", "1", tmp_path / "ok.wav"), "no channel 1")
    assert_one_line_error(voiceboard("dtmf", "detect", "--channel", "left", tmp_path / "ok.wav"), "--channel")


def test_gen_rejects_bad_input_before_writing(tmp_path):
    out = tmp_path / "g.wav"
    cases = [
        (["12x4"], "'x' not allowed"),
        ([""], "DIGITS: empty"),
        (["1", "--level", "loud"], "--level: 'loud' is not a number"),
        (["1", "--level", "0"], "--level: 0 dBm0 is out of range"),
        (["1", "--level", "-70"], "--level: -70 dBm0 is out of range"),
        (["1", "--level", "nan"], "not a finite number"),
        (["1", "--twist", "30"], "--twist: 30 dB is out of range"),
        (["1", "--level", "-5", "--twist", "-4"], "high-group tone at -1 dBm0"),
        (["1", "--on", "0"], "--on: 0 ms is out of range"),
        (["1", "--on", "4.5"], "--on: '4.5' is not a whole number"),
        (["1", "--off", "-1"], "--off: -1 ms is out of range"),
    ]
    for args, words in cases:
        assert_one_line_error(voiceboard("dtmf", "gen", *args, "-o", out), words)
    assert not out.exists()


# The gen tests below drive voiceboard.dsp.dtmf_samples (the tone generator's wrapper).

@pytest.mark.parametrize("codec", ["linear", "alaw", "ulaw"])
def test_gen_then_detect_each_codec(tmp_path, codec):
    path = tmp_path / f"{codec}.wav"
    r = voiceboard("dtmf", "gen", ALL, "--codec", codec, "-o", path)
    assert r.returncode == 0, r.stderr
    tag = {"linear": 1, "alaw": 6, "ulaw": 7}[codec]
    assert int.from_bytes(path.read_bytes()[20:22], "little") == tag
    assert detect(path) == ALL + "\n"


def test_gen_level_twist_timing_and_pause(tmp_path):
    path = tmp_path / "g.wav"
    r = voiceboard("dtmf", "gen", "5,9", "--level", "-20", "--twist", "4", "--on", "70", "--off", "60", "-o", path)
    assert r.returncode == 0, r.stderr
    out = json.loads(detect("--json", path))
    assert out["digits"] == "59"
    for e in out["events"]:
        assert abs(e["row_dbm0"] + 20) < 1.0 and abs(e["col_dbm0"] + 24) < 1.0
        assert abs(e["duration_ms"] - 70) <= 6
    first, second = out["events"]
    # The comma adds silence: the gap is longer than --off alone.
    assert second["start_s"] - first["end_s"] > 0.060 + 0.010
    assert_one_line_error(voiceboard("dtmf", "gen", "1", "-o", tmp_path / "no" / "dir.wav"), "dir.wav")
