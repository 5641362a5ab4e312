"""``voiceboard cid gen`` / ``voiceboard cid decode`` run as real processes on real files."""
import json
import os
import subprocess
import sys
import wave

import numpy as np
import pytest

import signals as sig
from test_fsk import cid_bits, fsk_signal

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# telephony.md §5.2 MDMF vector: date 03-17 16:56, number 2156430144, checksum BA.
MDMF_VECTOR = bytes.fromhex("80 16 01 08 30 33 31 37 31 36 35 36 02 0A 32 31 35 36 34 33 30 31 34 34 BA")


def run(*args):
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run([sys.executable, "-m", "voiceboard", "cid", *args], capture_output=True, text=True,
                          env=env, cwd=ROOT, timeout=60)


def write_wav(path, samples, rate=8000, channels=1):
    with wave.open(str(path), "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(np.asarray(samples, dtype="<i2").tobytes())


def one_line_error(result, *needles):
    assert result.returncode != 0
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    for needle in needles:
        assert needle in lines[0]


@pytest.mark.parametrize("gen_args, expect", [
    (["--number", "2156430144", "--name", "ZHANG SAN", "--date", "03171656"],
     {"number": "2156430144", "name": "ZHANG SAN", "date": "03171656", "format": "mdmf", "mode": "bell202",
      "checksum_ok": True}),
    (["--number", "2156430144", "--date", "03171656", "--format", "sdmf", "--mode", "v23", "--level", "-35"],
     {"number": "2156430144", "name": None, "date": "03171656", "format": "sdmf", "mode": "v23",
      "checksum_ok": True}),
    (["--absent", "P"],
     {"number": None, "name": None, "date": None, "format": "mdmf", "mode": "bell202", "checksum_ok": True,
      "number_absent": "P"}),
    (["--number", "13912345678", "--mode", "dtmf"],
     {"number": "13912345678", "name": None, "date": None, "format": "dtmf", "mode": "dtmf",
      "checksum_ok": None}),
])
def test_gen_then_decode(tmp_path, gen_args, expect):
    out = tmp_path / "cid.wav"
    result = run("gen", *gen_args, "-o", str(out))
    assert result.returncode == 0, result.stderr
    with wave.open(str(out), "rb") as w:
        assert (w.getframerate(), w.getsampwidth(), w.getnchannels()) == (8000, 2, 1)
    result = run("decode", str(out))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1
    got = json.loads(lines[0])
    assert {k: got[k] for k in expect} == expect


def test_gen_gbk_name(tmp_path):
    out = tmp_path / "cn.wav"
    assert run("gen", "--number", "02088888888", "--name", "张三", "--encoding", "gbk", "-o", str(out)).returncode == 0
    got = json.loads(run("decode", "--encoding", "gbk", str(out)).stdout)
    assert got["name"] == "张三" and got["number"] == "02088888888"


def test_decode_a_recording_from_an_independent_modulator(tmp_path, rng):
    x = np.concatenate([np.zeros(4000), fsk_signal(cid_bits(MDMF_VECTOR), "bell202", -20.0, rng, baud=1190.0),
                        np.zeros(4000)])
    x = x + sig.white_noise(x.size, -36.0, rng)
    path = tmp_path / "line.wav"
    write_wav(path, sig.codec_munge(sig.to_int16(x), "ulaw"))
    got = json.loads(run("decode", str(path)).stdout)
    assert got == {"number": "2156430144", "name": None, "date": "03171656", "format": "mdmf",
                   "mode": "bell202", "checksum_ok": True, "number_absent": None, "name_absent": None}


@pytest.mark.parametrize("args, needles", [
    (["--number", "12-34"], ["--number", "12-34", "digits"]),
    (["--number", "1", "--date", "0317"], ["--date", "MMDDHHMM"]),
    (["--number", "1", "--format", "sdmf"], ["--format sdmf", "--date"]),
    (["--number", "1", "--name", "张三"], ["--name", "gbk"]),
    (["--number", "1", "--encoding", "ebcdic-x"], ["--encoding", "ebcdic-x"]),
    (["--number", "1", "--level", "10"], ["--level"]),
])
def test_gen_bad_input(tmp_path, args, needles):
    out = tmp_path / "x.wav"
    one_line_error(run("gen", *args, "-o", str(out)), *needles)
    assert not out.exists()


def test_decode_bad_files(tmp_path):
    one_line_error(run("decode", str(tmp_path / "missing.wav")), "missing.wav", "no such file")
    text = tmp_path / "notes.wav"
    text.write_text("hello, not audio\n")
    one_line_error(run("decode", str(text)), "notes.wav", "not a 16-bit PCM WAV")
    wide = tmp_path / "wide.wav"
    write_wav(wide, np.zeros(1600, np.int16), rate=16000)
    one_line_error(run("decode", str(wide)), "wide.wav", "8000 Hz 16-bit mono", "16000 Hz")
    quiet = tmp_path / "quiet.wav"
    write_wav(quiet, np.zeros(8000, np.int16))
    one_line_error(run("decode", str(quiet)), "quiet.wav", "no caller ID found")


def test_help_has_examples():
    for action in ("gen", "decode"):
        result = run(action, "--help")
        assert result.returncode == 0
        assert "example" in result.stdout and f"voiceboard cid {action}" in result.stdout
