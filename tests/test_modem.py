"""The modem board (drivers/modem.py) over the pty modem emulator, in real time.

Every test opens a real pty, the driver opens it with pyserial, and the emulator thread
plays the modem and the caller at 8000 samples/s: keys are DLE reports or DTMF audio
through the board's own receiver, hangups are DLE codes, audio crosses the line at the line's
rate. Each test takes one to a few seconds. The board contract and a call through the flow
interpreter run over the emulator in tests/test_board_contract.py.
"""
import asyncio
import logging
import os
import time

import numpy as np
import pytest

import drivers
from drivers import modem_profiles as mp
from drivers.modem_emulator import ModemEmulator
from signals import amplitude, digit_string, to_int16
from voiceboard import callerid, clock
from voiceboard.audio import read_audio
from voiceboard.errors import BoardError, BoardTimeout, ConfigError
from voiceboard.states import ChannelState

CID = callerid.CallerId(number="2156430144", name="ZHANG SAN", date="03171656")
PROFILES = ["conexant", "usr"]


def run(test, profile, query="", timeout=20.0, **emu_kw):
    """Run ``test(board, emu)`` on a board opened on a fresh emulator, in real time."""
    emu_kw.setdefault("ring_period", 0.4)
    emu_kw.setdefault("cid_delay", 0.1)

    async def main():
        with ModemEmulator(profile, **emu_kw) as emu:
            async with drivers.open_board(f"modem://{emu.port}?{query}") as board:
                return await asyncio.wait_for(test(board, emu), timeout)
    return clock.run(main(), virtual=False)


async def answered(board, emu, caller_id=None, rings=1):
    ch = board.channel(0)
    call = asyncio.ensure_future(emu.call(caller_id))
    while ch.ring_count < rings:
        await ch.events.get()
    await ch.answer()
    assert await call is True
    return ch


async def until(predicate, timeout=5.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.02)


def tone(seconds, hz, dbm0=-12.0):
    t = np.arange(int(seconds * 8000)) / 8000
    return to_int16(amplitude(dbm0) * np.sin(2 * np.pi * hz * t))


def peak_hz(samples):
    spectrum = np.abs(np.fft.rfft(samples.astype(float)))
    return np.argmax(spectrum) * 8000 / samples.size


def drain(ch):
    kinds = []
    while not ch.events.empty():
        kinds.append(ch.events.get_nowait().kind)
    return kinds


# --- rings, caller ID, answer ------------------------------------------------------------------

@pytest.mark.parametrize("profile,cid", [("conexant", "formatted"), ("usr", "formatted"), ("usr", "raw")])
def test_rings_caller_id_and_answer(profile, cid):
    async def t(board, emu):
        ch, seen = board.channel(0), []
        call = asyncio.ensure_future(emu.call(CID))
        while seen.count("ring") < 2:
            seen.append((await ch.events.get()).kind)
        assert "caller_id" in seen
        assert ch.caller_id.number == "2156430144" and ch.caller_id.name == "ZHANG SAN"
        assert ch.caller_id.date == "03171656"
        await ch.answer()
        assert await call is True
        assert ch.state is ChannelState.CONNECTED and emu.offhook
        assert emu.commands[-2:] in (["AT+FCLASS=8", "AT+VLS=1"], ["AT+VLS=1", "AT+VTR"], ["AT+VLS=1", "AT+VRX"])
    run(t, profile, f"cid={cid}")


def test_private_number_and_an_abandoned_call():
    async def t(board, emu):
        ch = board.channel(0)
        call = asyncio.ensure_future(emu.call(callerid.CallerId(number_absent="P", date="03171656",
                                                                format="sdmf"), max_rings=2))
        while ch.ring_count < 2:
            await ch.events.get()
        assert ch.caller_id.number is None and ch.caller_id.number_absent == "P"
        assert await call is False
        await until(lambda: ch.state is ChannelState.IDLE, timeout=3)
    run(t, "usr", "ring_timeout_s=1")


# --- play ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("profile,query", [("conexant", ""), ("usr", ""), ("conexant", "duplex=0")])
def test_play_is_heard_in_real_time(profile, query):
    async def t(board, emu):
        ch = await answered(board, emu)
        heard = asyncio.ensure_future(emu.listen(1.1))
        t0 = time.monotonic()
        result = await ch.play(tone(0.6, 600.0))
        took = time.monotonic() - t0
        heard = await heard
        assert result.reason == "end"
        assert 0.55 < took < 0.9                          # paced by the tick, not written at once
        loud = np.flatnonzero(np.abs(heard) > 1000)
        assert abs(peak_hz(heard[loud[0]:loud[-1]]) - 600.0) < 3
        assert 0.58 < (loud[-1] - loud[0]) / 8000 < 0.62  # all of it, no gap, no repeat
        assert emu.underruns == 0 and board.stats.tx_dropped == 0
        if query == "duplex=0":
            # Conexant ends +VTX with DLE DLE DLE ETX; the emulator took it and went back to +VRX.
            await until(lambda: emu.mode == "vrx")
    run(t, profile, query)


def test_barge_in_on_full_duplex_stops_the_modem_at_once():
    async def t(board, emu):
        assert board.capabilities.full_duplex
        ch = await answered(board, emu)
        heard = asyncio.ensure_future(emu.listen(1.2))

        async def caller():
            await asyncio.sleep(0.5)
            await emu.press("5", inband=True, on_ms=100, off_ms=50)

        asyncio.ensure_future(caller())
        result = await ch.play(tone(5.0, 600.0), barge_in="0123456789")
        assert (result.reason, result.digit) == ("barge_in", "5")
        heard = await heard
        loud = np.flatnonzero(np.abs(heard) > 1000)
        # The key went down 0.5 s in; recognition and the rx margin take ~0.1 s, and DLE CAN
        # stops the modem at once instead of after its buffered 120 ms (TX_PREFILL_S).
        assert 0.5 < loud[-1] / 8000 < 0.65                  # without DLE CAN: ~0.71 s
        r = await ch.collect(max_digits=1, first_timeout=0.2)
        assert r.digits == "5"
    run(t, "conexant")


def test_half_duplex_has_no_barge_in_but_keeps_the_keys():
    async def t(board, emu):
        assert not board.capabilities.full_duplex
        ch = await answered(board, emu)

        async def caller():
            await asyncio.sleep(0.4)
            await emu.press("42", inband=False)

        asyncio.ensure_future(caller())
        result = await ch.play(tone(1.2, 600.0), barge_in="0123456789")
        assert result.reason == "end"
        r = await ch.collect(max_digits=2, first_timeout=0.5)
        assert r.digits == "42"
    run(t, "usr")


# --- collect ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("inband", [False, True])
def test_collect_digits(profile, inband):
    async def t(board, emu):
        ch = await answered(board, emu)
        asyncio.ensure_future(emu.press("1123#", inband=inband, on_ms=70, off_ms=70))
        r = await ch.collect(max_digits=8, first_timeout=3.0)
        assert (r.digits, r.reason, r.terminator) == ("1123", "terminator", "#")
    run(t, profile)


def test_a_key_reported_by_the_modem_and_heard_in_band_counts_once(rng):
    async def t(board, emu):
        ch = await answered(board, emu)
        keys = to_int16(digit_string("7", rng, on_ms=80, off_ms=80, lead_ms=0, tail_ms=0))
        # A real modem does both at once: DLE 7 and the tone in the audio.
        await asyncio.gather(emu.send(keys), emu.press("7", inband=False))
        await asyncio.sleep(0.4)
        assert ch.type_ahead == "7"
    run(t, "usr")


# --- record and beep -------------------------------------------------------------------------------

@pytest.mark.parametrize("profile", PROFILES)
def test_record_with_a_modem_beep(profile, tmp_path):
    async def t(board, emu):
        ch = await answered(board, emu)
        heard = asyncio.ensure_future(emu.listen(0.6))

        async def caller():
            await asyncio.sleep(0.4)
            await emu.send(tone(0.5, 440.0))
            await emu.press("#", inband=False)

        asyncio.ensure_future(caller())
        r = await ch.record(tmp_path / "msg.wav", max_time=5.0)
        assert r.status == "DTMF" and r.digit == "#"
        assert "AT+VTS=[1000,0,20]" in emu.commands           # the beep came from the modem
        beep = await heard
        loud = np.flatnonzero(np.abs(beep) > 1000)
        assert abs(peak_hz(beep[loud[0]:loud[-1]]) - 1000) < 10
        assert 0.19 < (loud[-1] - loud[0]) / 8000 < 0.21
        samples, _ = read_audio(r.path)
        loud = np.flatnonzero(np.abs(samples) > 1000)
        assert abs(peak_hz(samples[loud[0]:loud[-1]]) - 440.0) < 5
        assert 0.47 < (loud[-1] - loud[0]) / 8000 < 0.53
    run(t, profile)


# --- far-end hangup --------------------------------------------------------------------------------

@pytest.mark.parametrize("profile,signal", [("conexant", "l"), ("usr", "b")])
def test_far_end_hangup(profile, signal):
    async def t(board, emu):
        ch = await answered(board, emu)
        collect = asyncio.ensure_future(ch.collect(max_digits=4, first_timeout=5.0))
        await asyncio.sleep(0.3)
        await emu.hangup(signal)
        r = await collect
        assert r.reason == "hangup" and ch.state is ChannelState.IDLE
        assert "remote_hangup" in drain(ch)
        await until(lambda: not emu.offhook)                 # the driver put the modem on-hook
    run(t, profile)


@pytest.mark.parametrize("profile", PROFILES)
def test_close_right_after_a_far_end_hangup_puts_the_modem_on_hook(profile, caplog):
    # The close cancels the worker while it is leaving +VTR/+VRX (DLE ^ or DLE ! written,
    # the modem's answer not yet read): the modem must still end up on-hook, and close must
    # neither wait for a worker nor send its ATH0 after stray DLE bytes on the command line.
    async def main():
        with ModemEmulator(profile, ring_period=0.4, cid_delay=0.1) as emu:
            for _ in range(5):
                async with drivers.open_board(f"modem://{emu.port}") as board:
                    ch = await answered(board, emu)
                    collect = asyncio.ensure_future(ch.collect(max_digits=4, first_timeout=5.0))
                    await asyncio.sleep(0.2)
                    await emu.hangup()
                    assert (await collect).reason == "hangup"
                assert not emu.offhook
    with caplog.at_level(logging.WARNING, logger="voiceboard.modem"):
        clock.run(main(), virtual=False)
    assert not [r.getMessage() for r in caplog.records if r.name == "voiceboard.modem"]

@pytest.mark.parametrize("profile", PROFILES)
def test_local_hangup_while_playing_drops_the_modem_buffer_and_goes_on_hook(profile):
    async def t(board, emu):
        ch = await answered(board, emu)
        play = asyncio.ensure_future(ch.play(tone(3.0, 600.0)))
        await until(lambda: emu.mode in ("vtx", "vtr"))
        await asyncio.sleep(0.3)
        await ch.hangup()
        assert (await play).reason == "hangup"
        t0 = time.monotonic()
        await until(lambda: not emu.offhook, timeout=1.0)
        assert time.monotonic() - t0 < 0.1                   # DLE CAN: no waiting for the buffer
        assert emu.commands[-1] == "ATH0"
    run(t, profile)


# --- faults ----------------------------------------------------------------------------------------

def test_garbage_on_the_serial_line_is_ignored(rng):
    async def t(board, emu):
        junk = bytes(rng.integers(0x80, 0x100, 300, dtype=np.uint8))
        emu.noise(junk + b"\r\nGARBAGE LINE\r\n+++\r\n\x10\x7f\x10\xff" + b"x" * 1000 + b"\r\nOK\r\n")
        await asyncio.sleep(0.2)
        ch = await answered(board, emu, CID, rings=2)
        assert ch.caller_id.number == "2156430144"
        emu.noise(b"\x10\x7f")                                # an unknown DLE code inside the audio
        asyncio.ensure_future(emu.press("9#", inband=False))
        r = await ch.collect(max_digits=4)
        assert r.digits == "9" and board.errors == 0
    run(t, "conexant")


@pytest.mark.parametrize("profile", PROFILES)
def test_dle_sequences_split_across_reads(profile):
    async def t(board, emu):
        ch = await answered(board, emu)
        asyncio.ensure_future(emu.press("2580#", inband=False))
        r = await ch.collect(max_digits=8)
        assert r.digits == "2580"
        await emu.hangup("l")
        await until(lambda: ch.state is ChannelState.IDLE)
    run(t, profile, split_dle=True)


def _voiced(codes):
    """The bytes without u8 silence (0x80): what must arrive exactly, in order, even where
    real-time jitter put a tick of silence in between."""
    return bytes(codes).replace(b"\x80", b"")


def _codes_sequence(rng, n):
    """Modem bytes full of the DLE-significant values, as exact int16 samples."""
    special = np.array([mp.DLE, mp.ETX, mp.CAN, mp.SUB, ord("!"), ord("^"), ord("l"), ord("b")], dtype=np.uint8)
    codes = np.where(rng.random(n) < 0.5, rng.choice(special, n), rng.integers(0, 256, n)).astype(np.uint8)
    return codes, mp.decode("u8", codes)


@pytest.mark.parametrize("profile,query", [("conexant", ""), ("usr", ""), ("conexant", "duplex=0")])
def test_0x10_and_other_dle_values_inside_the_audio_both_ways(profile, query, rng, tmp_path):
    codes_out, prompt = _codes_sequence(rng, 2400)
    codes_in, speech = _codes_sequence(rng, 2400)

    async def t(board, emu):
        ch = await answered(board, emu)
        heard = asyncio.ensure_future(emu.listen(0.9))
        await ch.play(prompt)
        assert _voiced(mp.encode("u8", await heard)).find(_voiced(codes_out)) >= 0

        async def caller():
            await asyncio.sleep(0.3)
            await emu.send(speech)
            await asyncio.sleep(0.2)
            await emu.press("#", inband=False)

        asyncio.ensure_future(caller())
        r = await ch.record(tmp_path / "x.wav", beep=False, max_time=4.0, max_silence=None)
        assert r.status == "DTMF" and ch.state is ChannelState.CONNECTED
        recorded, _ = read_audio(r.path)
        assert _voiced(mp.encode("u8", recorded)).find(_voiced(codes_in)) >= 0
        if query:
            # Half-duplex Conexant: +VRX ended by an OK inside the audio stream, cut in two.
            assert emu.commands.count("AT+VRX") >= 2
    run(t, profile, query, split_dle=True)


def test_a_modem_that_does_not_answer_fails_open_with_board_timeout():
    async def main():
        with ModemEmulator("usr") as emu:
            emu.mute()
            t0 = time.monotonic()
            with pytest.raises(BoardTimeout, match="no answer to ATZ within 0.5 s"):
                await drivers.open_board(f"modem://{emu.port}?timeout=0.5").open()
            return time.monotonic() - t0
    assert clock.run(main(), virtual=False) < 2.0


def test_a_modem_that_stops_answering_mid_call_goes_out_of_service_and_comes_back():
    async def t(board, emu):
        ch = await answered(board, emu)
        emu.mute()
        await until(lambda: ch.state is ChannelState.OUT_OF_SERVICE, timeout=3)
        assert "alarm" in drain(ch)
        await asyncio.sleep(1.0)                              # a few reopen attempts time out
        emu.mute(False)
        await until(lambda: ch.state is ChannelState.IDLE, timeout=5)
        assert board.stats.faults == 1 and board.stats.recoveries == 1
        ch = await answered(board, emu)                       # and it takes calls again
        asyncio.ensure_future(emu.press("3", inband=False))
        assert (await ch.collect(max_digits=1)).digits == "3"
    run(t, "usr", "timeout=0.5&retry_s=0.2&retry_max_s=0.4", timeout=25)



def test_a_command_cancelled_as_its_answer_arrives_stays_cancelled():
    # close() and fault recovery cancel the line worker wherever it waits. Python 3.11's
    # asyncio.wait_for returned the answer instead when both happened in the same loop turns
    # (CPython gh-86296), and the worker went on waiting for ever. Try every interleaving
    # of "the final line arrives" and "the task is cancelled" a few loop turns apart.
    async def t(board, emu):
        emu.mute()                                          # only our line answers
        for turns in range(4):
            command = asyncio.ensure_future(board._command("AT"))
            await until(lambda: board._responses is not None)
            board._text_line("OK")                          # as the reader thread delivers it
            for _ in range(turns):
                await asyncio.sleep(0)
            pending = command.cancel()                      # False: it had returned already
            await asyncio.wait({command}, timeout=1.0)
            assert command.cancelled() if pending else command.result() == [], \
                f"cancelled {turns} loop turns after its answer, yet it returned"
    run(t, "usr")

@pytest.mark.parametrize("profile", PROFILES)
def test_unplugged_while_recording_keeps_the_file_and_recovers(profile, tmp_path):
    async def t(board, emu):
        ch = await answered(board, emu)
        record = asyncio.ensure_future(ch.record(tmp_path / "cut.wav", beep=False, max_time=10.0, max_silence=None))
        await asyncio.sleep(0.2)
        await emu.send(tone(0.6, 440.0))
        emu.unplug()
        r = await record
        assert r.status == "HANGUP" and ch.state is ChannelState.OUT_OF_SERVICE
        samples, _ = read_audio(r.path)
        assert samples.size / 8000 == r.duration and r.duration >= 0.6
        loud = np.flatnonzero(np.abs(samples) > 1000)
        assert abs(peak_hz(samples[loud[0]:loud[-1]]) - 440.0) < 5
        assert (loud[-1] - loud[0]) / 8000 > 0.5               # the tone is in the file
        await asyncio.sleep(0.5)                               # reopening fails: no device
        assert ch.state is ChannelState.OUT_OF_SERVICE
        emu.replug()
        await until(lambda: ch.state is ChannelState.IDLE, timeout=5)
        ch = await answered(board, emu)
        asyncio.ensure_future(emu.press("8", inband=False))
        assert (await ch.collect(max_digits=1)).digits == "8"
    run(t, profile, "retry_s=0.2&retry_max_s=0.4", link=str(tmp_path / "ttyMODEM"))


# --- configuration ---------------------------------------------------------------------------------

@pytest.mark.parametrize("query,message", [
    ("profile=hayes", "profile must be one of conexant, usr"),
    ("profile=conexant&format=alaw", "format must be one of u8"),
    ("format=adpcm", "format must be one of"),
    ("cid=fsk", "cid must be formatted, raw or off"),
    ("duplex=2", "bad value '2' for duplex"),
    ("hangup_on=z", "hangup_on takes letters of bdlsq"),
    ("timeout=0", "bad value '0' for timeout"),
    ("colour=red", "unknown option"),
])
def test_bad_modem_urls(query, message):
    with pytest.raises(ConfigError, match=message):
        drivers.open_board(f"modem:///dev/ttyACM0?{query}")


def test_a_missing_device_is_a_board_error():
    async def main():
        await drivers.open_board("modem:///dev/nonexistent-modem").open()
    with pytest.raises(BoardError, match="modem /dev/nonexistent-modem: cannot open"):
        clock.run(main(), virtual=False)


def test_virtual_time_is_refused():
    async def main():
        with ModemEmulator("usr") as emu:
            await drivers.open_board(f"modem://{emu.port}").open()
    with pytest.raises(ConfigError, match="needs real time"):
        clock.run(main())


def test_capabilities_follow_the_profile_and_the_duplex_option():
    assert drivers.open_board("modem:///dev/x?profile=conexant").capabilities.full_duplex
    assert not drivers.open_board("modem:///dev/x?profile=usr").capabilities.full_duplex
    caps = drivers.open_board("modem:///dev/x?profile=conexant&duplex=0").capabilities
    assert not caps.full_duplex and caps.channels == 1 and caps.signalling == "modem"
    assert os.path.basename(drivers.open_board("modem:///dev/ttyACM0").port) == "ttyACM0"
