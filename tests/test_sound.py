"""The sound-card board and its tools through the real PortAudio stack.

A private PulseAudio server (tests/pulse.py) with a null sink whose monitor is the default
source closes the loop: what the board plays goes PortAudio -> ALSA pulse plugin -> PulseAudio
-> monitor -> back into the board. Callers are real processes (pacat) playing into the same
sink. Everything runs in real time; the ALSA device is ``pulse``.
"""
import asyncio
import json
import os
import subprocess
import sys
import time

import numpy as np
import pytest

import signals
from pulse import PulseServer

import drivers
from voiceboard import audio, clock, dsp
from voiceboard.errors import BoardError, ConfigError
from voiceboard.states import ChannelState

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
KEYS = "0123456789*#ABCD"


@pytest.fixture(scope="module")
def pulse(tmp_path_factory):
    if not PulseServer.available():
        pytest.fail("pulseaudio is not installed (scripts/setup.sh installs it)")
    with PulseServer(tmp_path_factory.mktemp("pulse")) as server:
        yield server


def run(test, url="sound://pulse"):
    """Run ``test(board)`` on an opened sound board, in real time."""
    async def main():
        async with drivers.open_board(url) as board:
            return await asyncio.wait_for(test(board), 30)
    return clock.run(main(), virtual=False)


async def connected(board, n=0):
    ch = board.channel(n)
    assert ch.state is ChannelState.RINGING          # offer=open: a call waits when the board opens
    await ch.answer()
    return ch


def caller(pulse, samples, tmp_path, name="caller.raw"):
    """A scripted caller: another process playing 8 kHz audio into the sink (pacat)."""
    path = tmp_path / name
    signals.to_int16(samples).tofile(path)
    return subprocess.Popen(["pacat", "--playback", "--raw", "--format=s16le", "--rate=8000", "--channels=1",
                             "--latency-msec=20", str(path)],
                            env=dict(os.environ, **pulse.env()), stderr=subprocess.DEVNULL)


def cli(*args, env=None, timeout=60, **kw):
    return subprocess.run([sys.executable, "-m", "voiceboard", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout, env=dict(os.environ, **(env or {})), **kw)


def tone_at(samples, hz):
    """(level dBm0 of the strongest bin, its frequency) of int16 samples."""
    x = samples.astype(float)
    spectrum = np.abs(np.fft.rfft(x * np.hanning(x.size)))
    peak = int(np.argmax(spectrum))
    rms = np.sqrt(np.mean(x ** 2))
    return 20 * np.log10(rms / signals.DBM0_RMS), peak * dsp.SAMPLE_RATE / x.size


# --- the board contract over sound:// -------------------------------------------------------

@pytest.mark.parametrize("rate", [48000, 44100])
def test_collect_through_the_dsp_at_a_forced_device_rate(pulse, rate, rng):
    """The device runs at 48 or 44.1 kHz (not 8 kHz): the board resamples both ways and
    still receives every digit it plays through the loop."""
    async def t(board):
        assert (board.rate, board.frames_per_tick) == (rate, rate // 50)
        ch = await connected(board)
        keys = signals.to_int16(signals.digit_string(KEYS, rng, on_ms=60, off_ms=60))
        played = await ch.play(keys)
        r = await ch.collect(max_digits=16, terminators="", first_timeout=1.0, inter_timeout=1.0)
        assert played.reason == "end" and (r.digits, r.reason) == (KEYS, "max_digits")
        return board.stats
    stats = run(t, f"sound://pulse?rate={rate}")
    assert stats["rate"] == rate
    assert stats["rx_underrun"] == stats["tx_underrun"] == 0


def test_play_and_record_come_back_at_level_and_frequency(pulse, tmp_path, rng):
    async def t(board):
        ch = await connected(board)
        recording = asyncio.ensure_future(ch.record(tmp_path / "loop.wav", max_time=1.5, max_silence=None,
                                                    beep=False))
        await asyncio.sleep(0.2)
        prompt = signals.to_int16(signals.sine(1000.0, 800, -15.0, rng))
        assert (await ch.play(prompt)).reason == "end"
        return await recording
    r = run(t)
    assert r.status == "TIMEOUT" and abs(r.duration - 1.5) < 0.05
    samples, info = audio.read_audio(r.path)
    assert info.rate == 8000
    blocks = samples[:samples.size // 160 * 160].reshape(-1, 160).astype(float)
    loud = np.flatnonzero(np.sqrt(np.mean(blocks ** 2, axis=1)) > signals.DBM0_RMS * 10 ** (-25 / 20))
    assert loud.size and abs((loud[-1] - loud[0] + 1) * 0.02 - 0.8) <= 0.04   # the whole prompt, no gaps
    assert loud.size == loud[-1] - loud[0] + 1
    middle = samples[loud[0] * 160 + 800:loud[0] * 160 + 800 + 4000]
    level, hz = tone_at(middle, 1000.0)
    assert abs(hz - 1000.0) < 3 and abs(level + 15.0) < 0.5


def test_barge_in_by_a_caller_process_stops_the_prompt(pulse, tmp_path, rng):
    async def t(board):
        ch = await connected(board)
        key = caller(pulse, signals.digit_string("5", rng, on_ms=100, lead_ms=800), tmp_path)
        t0 = time.monotonic()
        result = await ch.play(signals.to_int16(signals.sine(440.0, 8000, -20.0, rng)), barge_in="0123456789")
        key.wait(5)
        assert result.reason == "barge_in" and result.digit == "5"
        assert time.monotonic() - t0 < 3.0
    run(t)


def test_a_simulated_call(pulse, tmp_path, rng):
    """A scripted caller (pacat) keys an account number and a message end while the board
    greets, collects, records and hangs up -- all over sound://."""
    async def t(board):
        ch = await connected(board)
        script = np.concatenate([signals.silence(300),
                                 signals.digit_string("6225#", rng, on_ms=70, off_ms=80, lead_ms=0),
                                 signals.silence(900),
                                 signals.sine(700.0, 1000, -20.0, rng),          # the message
                                 signals.digit_string("#", rng, on_ms=70, lead_ms=200)])
        proc = caller(pulse, script, tmp_path)
        greeting = signals.to_int16(signals.sine(500.0, 4000, -20.0, rng))
        played = await ch.play(greeting, barge_in="0123456789")
        account = await ch.collect(max_digits=8, first_timeout=3.0, inter_timeout=2.0)
        rec = await ch.record(tmp_path / "msg.wav", max_time=5.0, max_silence=3.0, beep=False)
        await ch.hangup()
        proc.wait(5)
        return played, account, rec, ch.state
    played, account, rec, state = run(t)
    assert played.reason == "barge_in" and played.digit == "6"
    assert (account.digits, account.reason, account.terminator) == ("6225", "terminator", "#")
    assert rec.status == "DTMF" and rec.digit == "#" and 0.9 < rec.duration < 3.0
    samples, _ = audio.read_audio(rec.path)
    level, hz = tone_at(samples, 700.0)
    assert abs(hz - 700.0) < 5
    assert state is ChannelState.IDLE


def test_stereo_board_has_two_independent_lines(pulse, rng):
    async def t(board):
        left, right = await connected(board, 0), await connected(board, 1)
        await asyncio.gather(left.play(signals.to_int16(signals.digit_string("14", rng, on_ms=60))),
                             right.play(signals.to_int16(signals.digit_string("9#", rng, on_ms=60))))
        a = await left.collect(max_digits=2, terminators="", first_timeout=1.0)
        b = await right.collect(max_digits=2, terminators="", first_timeout=1.0)
        assert board.capabilities.channels == 2 and board.capabilities.bridging
        return a.digits, b.digits
    assert run(t, "sound://pulse?channels=2") == ("14", "9#")


def test_capabilities_are_honest(pulse):
    async def t(board):
        return board.capabilities
    caps = run(t)
    assert (caps.channels, caps.caller_id, caps.ringing, caps.call_progress, caps.full_duplex,
            caps.bridging, caps.signalling) == (1, False, False, False, True, False, "sound")


def test_offer_manual_and_release(pulse):
    async def t(board):
        ch = board.channel(0)
        assert ch.state is ChannelState.IDLE
        board.offer(0)
        await ch.answer()
        board.release(0)                                 # the caller hangs up
        assert ch.state is ChannelState.IDLE
        board.offer(0)
        assert ch.state is ChannelState.RINGING
        with pytest.raises(BoardError, match="only be offered on an IDLE"):
            board.offer(0)
    run(t, "sound://pulse?offer=manual")


# --- device loss and recovery ----------------------------------------------------------------

def test_device_disappears_mid_call_and_comes_back(pulse, rng, caplog):
    async def t(board):
        ch = await connected(board)
        collect = asyncio.ensure_future(ch.collect(max_digits=4, first_timeout=10.0))
        await asyncio.sleep(0.3)
        pulse.stop(kill=True)                            # the sound server vanishes
        t0 = time.monotonic()
        r = await collect
        assert r.reason == "hangup"
        while ch.state is not ChannelState.OUT_OF_SERVICE:
            await asyncio.sleep(0.02)
        lost_after = time.monotonic() - t0
        await asyncio.sleep(1.0)                         # a reopen attempt or two fail meanwhile
        assert ch.state is ChannelState.OUT_OF_SERVICE
        pulse.start()
        while ch.state is not ChannelState.RINGING:      # back in service, call offered again
            await asyncio.sleep(0.05)
        back_after = time.monotonic() - t0
        await ch.answer()
        await ch.play(signals.to_int16(signals.digit_string("73", rng, on_ms=60)))
        r = await ch.collect(max_digits=2, terminators="", first_timeout=1.0)
        return lost_after, back_after, r.digits, board.losses
    with caplog.at_level("WARNING", logger="voiceboard.sound"):
        lost_after, back_after, digits, losses = run(t)
    # Seconds of wall time on a 2-core machine running the suite on both cores: detection
    # takes one missed callback period (0.5 s) when idle, more when the server is slow to die.
    assert lost_after < 3.0 and back_after < 3.0 + 1.0 + 5.0
    assert digits == "73" and losses == 1
    lines = [r.getMessage() for r in caplog.records if r.name == "voiceboard.sound"]
    assert sum("device lost" in line for line in lines) == 1
    assert sum("device back" in line for line in lines) == 1


def test_a_hung_device_goes_out_of_service_without_stalling_the_board(pulse, rng):
    """The server freezes (SIGSTOP): no callbacks for 0.5 s means the device is lost. Reopening
    waits for the frozen server on a helper thread, so the board's ticks stay on time; when
    the server thaws the line comes back."""
    async def t(board):
        ch = await connected(board)
        pulse.pause()
        try:
            t0 = time.monotonic()
            while ch.state is not ChannelState.OUT_OF_SERVICE:
                await asyncio.sleep(0.02)
            lost_after = time.monotonic() - t0
            await asyncio.sleep(1.5)
        finally:
            pulse.resume()
        while ch.state is not ChannelState.RINGING:
            await asyncio.sleep(0.02)
        await ch.answer()
        await ch.play(signals.to_int16(signals.digit_string("8", rng, on_ms=60)))
        r = await ch.collect(max_digits=1, first_timeout=1.0)
        return lost_after, board.clock.late_ticks, r.digits
    lost_after, late_ticks, digits = run(t)
    assert 0.4 < lost_after < 1.0 and late_ticks == 0 and digits == "8"


# --- errors --------------------------------------------------------------------------------------

def test_unknown_device_is_a_one_line_config_error(pulse):
    with pytest.raises(ConfigError, match=r"sound://nosuch.*No input device matching 'nosuch'.*pulse") as err:
        run(lambda board: None, "sound://nosuch")
    assert "\n" not in str(err.value)


def test_unknown_device_on_the_command_line(pulse):
    p = cli("dtmf", "listen", "--device", "nosuch", "--seconds", "1")
    assert p.returncode == 1 and p.stdout == ""
    assert p.stderr.strip().count("\n") == 0
    assert p.stderr.startswith("voiceboard: error: ") and "nosuch" in p.stderr


@pytest.mark.parametrize("url,message", [
    ("sound://pulse?channels=3", "channels must be 1"), ("sound://pulse?latency=slow", "bad value 'slow'"),
    ("sound://pulse?offer=ring", "offer must be open or manual"), ("sound://pulse?rate=11025", "whole number"),
    ("sound://pulse?colour=red", "unknown option"),
])
def test_bad_urls(pulse, url, message):
    with pytest.raises(ConfigError, match=message):
        run(lambda board: None, url)


def test_virtual_time_is_refused(pulse):
    async def main():
        async with drivers.open_board("sound://pulse"):
            pass
    with pytest.raises(BoardError, match="real time"):
        clock.run(main())


# --- the commands ------------------------------------------------------------------------------

def vb(*args, **kw):
    return subprocess.run([sys.executable, "-m", "voiceboard", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=kw.pop("timeout", 60), **kw)


def test_devices_lists_the_loop_with_rates_and_default(pulse):
    p = vb("devices")
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    pulse_line = next(line for line in lines if " pulse (ALSA)" in line)
    assert "44.1 48" in pulse_line and " 8 " in pulse_line
    assert any(line.startswith("*") and "[default input and output]" in line for line in lines)
    table = json.loads(vb("devices", "--json").stdout)
    assert any(d["name"] == "pulse" and 48000 in d["rates"] for d in table)


def test_loopback_test_passes_for_all_16_digits(pulse):
    p = vb("loopback-test", "--device", "pulse", "--rate", "48000", "--tones", "sit", "--json")
    assert p.returncode == 0, p.stdout + p.stderr
    rep = json.loads(p.stdout)
    assert rep["passed"] and rep["rate"] == 48000 and rep["extra_digits"] == ""
    assert [d["digit"] for d in rep["digits"] if d["detected"]] == list(KEYS)
    for d in rep["digits"]:
        assert abs(d["row_dbm0"] + 10) < 0.5 and abs(d["col_dbm0"] + 10) < 0.5 and abs(d["twist_db"]) < 0.5
        assert abs(d["row_error_hz"]) < 2 and abs(d["col_error_hz"]) < 2
    assert 20 < rep["latency_ms"] < 400
    assert [t["tone"] for t in rep["tones"] if t["recognised"]] == ["sit"]


def test_loopback_test_fails_when_nothing_comes_back(pulse):
    """Capture from a device that hears nothing (the sink's monitor is muted): exit 1."""
    env = dict(os.environ, **pulse.env())
    subprocess.run(["pactl", "set-source-mute", "loop.monitor", "1"], env=env, check=True)
    try:
        p = vb("loopback-test", "--device", "pulse", "--tones", "none")
    finally:
        subprocess.run(["pactl", "set-source-mute", "loop.monitor", "0"], env=env, check=True)
    assert p.returncode == 1
    assert p.stdout.count(" NO") == 16 and p.stdout.rstrip().endswith("FAIL")


def test_dtmf_send_is_heard_by_dtmf_listen_and_ctrl_c_prints_a_summary(pulse):
    listen = subprocess.Popen([sys.executable, "-m", "voiceboard", "dtmf", "listen", "--device", "pulse"],
                              cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert listen.stdout.readline().startswith("listening on sound://pulse")
        sent = cli("dtmf", "send", "159#", "--device", "pulse", "--level", "-15", "--on", "80", "--off", "80")
        assert sent.returncode == 0, sent.stderr
        time.sleep(0.5)
    finally:
        listen.send_signal(2)                            # Ctrl-C
        out, err = listen.communicate(timeout=10)
    assert listen.returncode == 0, err
    lines = out.splitlines()
    digits = [line.split()[2] for line in lines if line.strip() and line.split()[1] == "s"]
    assert digits == ["1", "5", "9", "#"]
    for line in lines:
        if " level " in line:
            row, col = (float(v) for v in line.split("level")[1].split("dBm0")[0].split("/"))
            assert abs(row + 15) < 0.5 and abs(col + 15) < 0.5
    assert lines[-1].startswith("summary: 4 digit(s) '159#'") and "underruns rx 0" in lines[-1]


def test_dtmf_listen_stops_by_itself(pulse):
    t0 = time.monotonic()
    p = cli("dtmf", "listen", "--device", "pulse", "--seconds", "1")
    assert p.returncode == 0 and p.stdout.splitlines()[-1].startswith("summary: 0 digit(s) ''")
    assert time.monotonic() - t0 < 10


def test_dtmf_send_rejects_what_gen_rejects(pulse):
    p = cli("dtmf", "send", "12x", "--device", "pulse")
    assert p.returncode == 1 and "DIGITS: 'x' not allowed" in p.stderr and p.stderr.count("\n") == 1


def test_plot_marks_digits_and_tones(tmp_path, rng):
    wav = tmp_path / "call.wav"
    busy = dsp.tone_samples("busy", "cn", seconds=3.5)
    audio.write_wav(wav, np.concatenate([signals.to_int16(signals.digit_string("42", rng)), busy]))
    p = vb("plot", str(wav), "-o", str(tmp_path / "call.png"))
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip().endswith("2 digit(s), 1 tone(s)")
    with open(tmp_path / "call.png", "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    bad = vb("plot", str(tmp_path / "missing.wav"), "-o", str(tmp_path / "x.png"))
    assert bad.returncode == 1 and "missing.wav" in bad.stderr and bad.stderr.count("\n") == 1


def test_softphone_keys_reach_the_ivr_as_dtmf_audio(pulse, tmp_path, rng):
    prompt = tmp_path / "greeting.wav"
    audio.write_wav(prompt, signals.to_int16(signals.sine(600.0, 1500, -15.0, rng)))
    p = vb("softphone", "--device", "pulse", "--prompt", str(prompt), input="407#")
    assert p.returncode == 0, p.stderr
    assert "IVR: answered" in p.stdout and "IVR: collected '407' (terminator)" in p.stdout
    summary = p.stdout.splitlines()[-1]
    heard_peak = float(summary.split("loudest tick: ")[1].split(" dBm0")[0])
    assert abs(heard_peak + 15.0) < 1.0                 # the greeting reached the sound card
    assert "underruns rx 0 tx 0" in summary


def test_softphone_on_a_terminal_reads_keys_without_enter(pulse, tmp_path, rng):
    """Through a pty: character mode (no Enter), 'q' quits, and the terminal is restored."""
    import pty
    import select
    import termios
    prompt = tmp_path / "greeting.wav"
    audio.write_wav(prompt, signals.to_int16(signals.sine(600.0, 300, -15.0, rng)))
    master, slave = pty.openpty()
    before = termios.tcgetattr(slave)
    proc = subprocess.Popen([sys.executable, "-m", "voiceboard", "softphone", "--device", "pulse", "--prompt", str(prompt)],
                            cwd=ROOT, stdin=slave, stdout=slave, stderr=subprocess.PIPE)
    out = b""

    def read_until(text, timeout=15):
        nonlocal out
        deadline = time.monotonic() + timeout
        while text not in out and time.monotonic() < deadline:
            if select.select([master], [], [], 0.1)[0]:
                out += os.read(master, 4096)
        return text in out

    try:
        assert read_until(b"IVR: answered")
        os.write(master, b"58#")
        assert read_until(b"IVR: collected '58' (terminator)")
        os.write(master, b"q")
        proc.wait(15)
        read_until(b"softphone: heard", timeout=2)
        restored = termios.tcgetattr(slave)
    finally:
        if proc.poll() is None:
            proc.kill()
        err = proc.stderr.read().decode()
        os.close(master)
        os.close(slave)
    assert proc.returncode == 0, err
    assert b"\r\n" in out                               # raw output while in character mode
    assert restored == before                           # the terminal is as it was
