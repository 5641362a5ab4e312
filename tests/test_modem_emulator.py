"""The pty modem emulator on its own, driven byte by byte with pyserial: the transcripts of
telephony.md §7.3, each dialect's quirks, real-time consumption, and the DLE wire helpers."""
import asyncio
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import serial
from hypothesis import given, settings, strategies as st

from drivers import modem_profiles as mp
from drivers.modem_emulator import ModemEmulator
from voiceboard import callerid, dsp

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CID = callerid.CallerId(number="2156430144", name="ZHANG SAN", date="03171656")
INIT = {"conexant": "1,8000,0,0", "usr": "128,8000"}


class Dte:
    """The computer's side of the serial line, byte by byte."""

    def __init__(self, port):
        self.ser = serial.Serial(port, 115200, timeout=0.02)
        self.got = bytearray()

    def close(self):
        self.ser.close()

    def send(self, text):
        self.ser.write(text.encode() + b"\r")

    def write(self, data):
        self.ser.write(data)

    def expect(self, pattern, timeout=2.0):
        """Read until ``pattern`` (bytes); return everything up to and including it."""
        deadline = time.monotonic() + timeout
        while pattern not in self.got:
            assert time.monotonic() < deadline, f"no {pattern!r} in {bytes(self.got[-200:])!r}"
            self.got += self.ser.read(4096)
        end = self.got.index(pattern) + len(pattern)
        out = bytes(self.got[:end])
        del self.got[:end]
        return out

    def read_for(self, seconds):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self.got += self.ser.read(4096)
        out = bytes(self.got)
        self.got.clear()
        return out

    def command(self, text, reply="OK"):
        self.send(text)
        return self.expect(f"\r\n{reply}\r\n".encode())


def session(profile, test, **kw):
    """Run async ``test(emu, dte)`` with a started emulator and an opened DTE."""
    kw.setdefault("ring_period", 0.5)
    kw.setdefault("cid_delay", 0.1)
    with ModemEmulator(profile, **kw) as emu:
        dte = Dte(emu.port)
        try:
            return asyncio.run(test(emu, dte))
        finally:
            dte.close()


async def connected(emu, dte, profile, cid=None):
    """Initialise (telephony.md §7.3 init), take a call, answer it."""
    dte.command("ATE0")
    for cmd in ("ATV1", "AT+VCID=1", "AT+FCLASS=8", f"AT+VSM={INIT[profile]}"):
        dte.command(cmd)
    call = asyncio.ensure_future(emu.call(cid))
    await asyncio.to_thread(dte.expect, b"\r\nRING\r\n")
    dte.command("AT+VLS=1", mp.profile(profile).vls_reply)
    assert await call is True


async def listen(emu, seconds):
    """Start listening now; the returned task gives what was heard."""
    task = asyncio.ensure_future(emu.listen(seconds))
    await asyncio.sleep(0)
    return task


# --- command transcripts ----------------------------------------------------------------------

@pytest.mark.parametrize("profile,product", [("conexant", "56000"), ("usr", "5601")])
def test_init_and_probe_transcript(profile, product):
    async def t(emu, dte):
        assert dte.command("ATZ") == b"ATZ\r\r\nOK\r\n"             # echo is on after a reset
        assert dte.command("ATE0") == b"ATE0\r\r\nOK\r\n"
        assert dte.command("ATV1") == b"\r\nOK\r\n"
        assert dte.command("ATI0") == f"\r\n{product}\r\n\r\nOK\r\n".encode()
        assert b"8" in dte.command("AT+FCLASS=?").split(b"\r\n")[1].split(b",")
        listed = dte.command("AT+VSM=?").decode().split("\r\n")
        assert [line for line in listed if line.startswith(INIT[profile].split(",")[0] + ",")]
        dte.command("AT+VSM=1,8000", "ERROR")                        # voice mode first
        dte.command("AT+FCLASS=8")
        dte.command(f"AT+VSM={INIT[profile]}")
        dte.command("AT+VSM=129,8000", "ERROR")                      # ADPCM is not emulated
        dte.command("AT+VTX", "ERROR")                               # on-hook: no voice data state
        dte.command("AT+NOSUCH", "ERROR")
        assert emu.commands[:3] == ["ATZ", "ATE0", "ATV1"]
    session(profile, t)


@pytest.mark.parametrize("profile", ["conexant", "usr"])
def test_incoming_call_with_formatted_caller_id(profile):
    async def t(emu, dte):
        dte.command("ATE0")
        dte.command("AT+VCID=1")
        call = asyncio.ensure_future(emu.call(CID))
        got = await asyncio.to_thread(dte.expect, b"RING\r\n", 1.0)
        got += await asyncio.to_thread(dte.expect, b"RING\r\n", 1.0)
        # telephony.md §7.3, incoming: RING, the caller-ID block, RING.
        assert got == (b"\r\nRING\r\n\r\nDATE = 0317\r\nTIME = 1656\r\nNMBR = 2156430144\r\n"
                       b"NAME = ZHANG SAN\r\n\r\nRING\r\n")
        dte.command("AT+FCLASS=8")
        dte.command("AT+VLS=1", mp.profile(profile).vls_reply)
        assert await call is True and emu.offhook
    session(profile, t)


def test_raw_caller_id_is_the_message_in_hex():
    async def t(emu, dte):
        dte.command("ATE0")
        dte.command("AT+VCID=2")
        asyncio.ensure_future(emu.call(CID, max_rings=1))
        await asyncio.to_thread(dte.expect, b"RING\r\n")
        lines = (await asyncio.to_thread(dte.read_for, 0.3)).split(b"\r\n")
        hex_lines = [line for line in lines if line and line != b"RING"]
        assert len(hex_lines) == 1
        assert callerid.decode_message(bytes.fromhex(hex_lines[0].decode())) == (CID, True)
    session("usr", t)


# --- play ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("profile", ["conexant", "usr"])
def test_play_is_consumed_at_8000_bytes_per_second_and_an_underrun_is_reported(profile):
    audio = np.arange(3200) % 256                                    # every byte value, 0x10 too

    async def t(emu, dte):
        await connected(emu, dte, profile)
        dte.command("AT+VTX", "CONNECT")
        heard = await listen(emu, 0.7)
        t0 = time.monotonic()
        dte.write(mp.dle_escape(bytes(audio.astype(np.uint8))))
        await asyncio.to_thread(dte.expect, b"\x10u", 1.0)          # DLE u: the buffer ran dry
        took = time.monotonic() - t0
        assert 0.38 < took < 0.5 and emu.underruns == 1
        dte.write(mp.DLE_ETX)
        await asyncio.to_thread(dte.expect, b"\r\nOK\r\n")
        assert emu.mode == "command"
        played = mp.encode("u8", await heard)
        assert played.find(bytes(audio.astype(np.uint8))) >= 0       # every byte, in order
    session(profile, t)


@pytest.mark.parametrize("profile", ["conexant", "usr"])
def test_end_of_play_sequences(profile):
    """Conexant is sent DLE DLE DLE ETX (callattendant): an 0x10 data octet, then the end."""
    async def t(emu, dte):
        await connected(emu, dte, profile)
        dte.command("AT+VTX", "CONNECT")
        heard = await listen(emu, 0.5)
        dte.write(bytes([0x80, 0x90] * 800) + mp.profile(profile).end_play)
        t0 = time.monotonic()
        await asyncio.to_thread(dte.expect, b"\r\nOK\r\n")
        assert 0.15 < time.monotonic() - t0 < 0.3                    # OK once 1600 bytes played
        played = mp.encode("u8", await heard).rstrip(b"\x80")
        tail = bytes([0x80, 0x90]) + (b"\x10" if profile == "conexant" else b"")
        assert played.endswith(tail)
    session(profile, t)


def test_dle_can_drops_the_modem_buffer():
    async def t(emu, dte):
        await connected(emu, dte, "usr")
        dte.command("AT+VTX", "CONNECT")
        dte.write(bytes([0xC0]) * 16000)                             # 2 s
        await asyncio.sleep(0.2)
        t0 = time.monotonic()
        dte.write(mp.DLE_CAN + mp.DLE_ETX)
        await asyncio.to_thread(dte.expect, b"\r\nOK\r\n")
        assert time.monotonic() - t0 < 0.1
    session("usr", t)


# --- record, duplex, keys, hangup -----------------------------------------------------------------

@pytest.mark.parametrize("profile,ending", [("conexant", b"\r\nOK\r\n"), ("usr", b"\x10\x03")])
def test_end_of_record_reply(profile, ending):
    async def t(emu, dte):
        await connected(emu, dte, profile)
        dte.command("AT+VRX", "CONNECT")
        data = await asyncio.to_thread(dte.read_for, 0.3)
        assert 2000 < len(data) < 2900                               # 8000 B/s of silence
        dte.write(mp.DLE_RX_ABORT)
        rest = await asyncio.to_thread(dte.expect, ending)
        other = b"\x10\x03" if profile == "conexant" else b"OK"
        assert other not in rest + await asyncio.to_thread(dte.read_for, 0.1)
        dte.command("AT")                                            # back in command mode
    session(profile, t)


def test_full_duplex_only_where_the_chipset_has_it():
    async def t(emu, dte):
        await connected(emu, dte, "usr")
        dte.command("AT+VTR", "ERROR")
    session("usr", t)

    async def t2(emu, dte):
        await connected(emu, dte, "conexant")
        dte.command("AT+VTR", "CONNECT")
        heard = await listen(emu, 0.4)
        dte.write(bytes([0xA0]) * 1600)
        got = await asyncio.to_thread(dte.read_for, 0.3)
        assert len(got) > 2000                                       # it sends while it plays
        dte.write(mp.DLE_DUPLEX_END)
        await asyncio.to_thread(dte.expect, b"\x10\x03\r\nOK\r\n")
        assert mp.encode("u8", await heard).count(b"\xa0") == 1600
    session("conexant", t2)


@pytest.mark.parametrize("profile,report", [("conexant", b"\x10/\x105\x105\x10~"), ("usr", b"\x105")])
def test_keys_as_dle_reports(profile, report):
    async def t(emu, dte):
        await connected(emu, dte, profile)
        dte.command("AT+VRX", "CONNECT")
        await emu.press("5", inband=False, on_ms=150, off_ms=50)
        got = await asyncio.to_thread(dte.read_for, 0.1)
        codes = [v for k, v in mp.DleDecoder().feed(got) if k == "code"]
        assert "".join(codes) == "".join(chr(report[i + 1]) for i in range(0, len(report), 2))
        assert not dsp.detect_dtmf(mp.decode("u8", b"".join(v for k, v in mp.DleDecoder().feed(got)
                                                              if k == "data")))
    session(profile, t)


def test_keys_in_band_are_audio_in_the_sample_format():
    async def t(emu, dte):
        await connected(emu, dte, "usr")
        dte.command("AT+VSM=132,8000")                               # A-law
        dte.command("AT+VRX", "CONNECT")
        await emu.press("73", inband=True)
        got = await asyncio.to_thread(dte.read_for, 0.1)
        items = mp.DleDecoder().feed(got)
        assert not [v for k, v in items if k == "code"]
        audio = mp.decode("alaw", b"".join(v for k, v in items if k == "data"))
        assert "".join(e.digit for e in dsp.detect_dtmf(audio)) == "73"
    session("usr", t)


@pytest.mark.parametrize("signal_code", ["l", "b"])
def test_caller_hangup_is_a_dle_report_in_the_data(signal_code):
    async def t(emu, dte):
        await connected(emu, dte, "conexant")
        dte.command("AT+VRX", "CONNECT")
        await emu.hangup(signal_code)
        await asyncio.to_thread(dte.expect, b"\x10" + signal_code.encode())
        dte.write(mp.DLE_RX_ABORT)
        await asyncio.to_thread(dte.expect, b"\r\nOK\r\n")
        dte.command("ATH0")
        assert not emu.offhook
    session("conexant", t)


def test_vts_tone_goes_on_the_line_and_ok_follows_it():
    async def t(emu, dte):
        await connected(emu, dte, "usr")
        heard = await listen(emu, 0.5)
        t0 = time.monotonic()
        dte.command("AT+VTS=[1000,0,20]")                            # 1 kHz, 20 x 10 ms
        assert 0.18 < time.monotonic() - t0 < 0.3
        tone = await heard
        loud = np.flatnonzero(np.abs(tone) > 1000)
        assert abs((loud[-1] - loud[0]) / 8000 - 0.2) < 0.01
        spectrum = np.abs(np.fft.rfft(tone[loud[0]:loud[-1]].astype(float)))
        assert abs(np.argmax(spectrum) * 8000 / (loud[-1] - loud[0]) - 1000) < 10
    session("usr", t)


# --- faults ---------------------------------------------------------------------------------------

def test_mute_unplug_and_replug(tmp_path):
    link = str(tmp_path / "ttyMODEM")

    async def t(emu, dte):
        emu.mute()
        dte.send("AT")
        assert await asyncio.to_thread(dte.read_for, 0.3) == b""
        emu.mute(False)
        dte.command("AT")
        old = os.readlink(link)
        emu.unplug()
        with pytest.raises(serial.SerialException):
            for _ in range(50):
                dte.ser.read(1)
        emu.replug()
        assert os.readlink(link) != old or os.path.exists(old)
        fresh = Dte(link)
        try:
            assert fresh.command("ATI0") == b"ATI0\r\r\n5601\r\n\r\nOK\r\n"
        finally:
            fresh.close()
    session("usr", t, link=link)
    assert not os.path.lexists(link)


def test_the_command_line_emulator_runs_until_interrupted():
    boot = ("import argparse, sys; from voiceboard.cli import modem; p = argparse.ArgumentParser(); "
            "modem.register(p.add_subparsers()); a = p.parse_args(sys.argv[1:]); sys.exit(a.func(a))")
    proc = subprocess.Popen([sys.executable, "-c", boot, "modem-emulator", "--profile", "usr"], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        path = proc.stdout.readline().strip()
        dte = Dte(path)
        assert dte.command("ATI0").endswith(b"\r\n5601\r\n\r\nOK\r\n")
        dte.close()
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=5) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    bad = subprocess.run([sys.executable, "-c", boot, "modem-emulator", "--ring-period", "fast"], cwd=ROOT,
                         capture_output=True, text=True)
    assert bad.returncode != 0 and "--ring-period: not a number: 'fast'" in bad.stderr


# --- wire helpers ----------------------------------------------------------------------------------

@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=300), st.lists(st.integers(0, 400), max_size=8))
def test_dle_decoder_gives_the_same_items_however_the_stream_is_cut(data, cuts):
    wire = mp.dle_escape(data) + b"\x10u" + mp.dle_escape(data) + mp.DLE_ETX
    pieces, last = [], 0
    for c in sorted(min(c, len(wire)) for c in cuts) + [len(wire)]:
        pieces.append(wire[last:c])
        last = c
    decoder = mp.DleDecoder()
    items = [item for piece in pieces for item in decoder.feed(piece)]
    merged = []
    for kind, value in items:
        if merged and kind == "data" and merged[-1][0] == "data":
            merged[-1] = ("data", merged[-1][1] + value)
        else:
            merged.append((kind, value))
    expected = ([("data", data)] if data else []) + [("code", "u")] + ([("data", data)] if data else []) \
        + [("code", "\x03")]
    assert merged == expected


def test_dle_sub_is_two_dle_octets_from_the_modem_only():
    assert mp.DleDecoder(sub=True).feed(b"a\x10\x1ab") == [("data", b"a\x10\x10b")]
    assert mp.DleDecoder(sub=False).feed(b"a\x10\x1ab") == [("data", b"a"), ("code", "\x1a"), ("data", b"b")]


def test_sample_codecs():
    codes = bytes(range(256))
    assert mp.encode("u8", mp.decode("u8", codes)) == codes
    assert mp.decode("u8", b"\x80\x00\xff").tolist() == [0, -32768, 32512]
    ramp = np.arange(-32768, 32768, 37, dtype=np.int16)
    assert np.array_equal(mp.decode("alaw", mp.encode("alaw", ramp)), dsp.alaw2lin(dsp.lin2alaw(ramp)))
    assert np.array_equal(mp.decode("ulaw", mp.encode("ulaw", ramp)), dsp.ulaw2lin(dsp.lin2ulaw(ramp)))
    with pytest.raises(ValueError, match="not one of u8, alaw, ulaw"):
        mp.decode("adpcm", b"")


def test_profile_table():
    assert mp.profile_for_product("56000") is mp.PROFILES["conexant"]
    assert mp.profile_for_product("5601") is mp.PROFILES["usr"]
    assert mp.PROFILES["usr"].format().vsm == "128,8000"
    assert mp.PROFILES["conexant"].format().vsm == "1,8000,0,0"
    assert mp.PROFILES["usr"].format_for_cml(132).codec == "alaw"
    with pytest.raises(ValueError, match="profile 'zoom' is not known"):
        mp.profile("zoom")
