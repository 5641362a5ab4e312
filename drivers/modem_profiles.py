"""Voice-modem chipsets (ITU-T V.253 / IS-101) and the wire format they share.

One :class:`Profile` per chipset family holds everything that differs between them: the
product code ``ATI0`` answers, the sample formats ``AT+VSM`` offers, the bytes that end a
playback, what the modem sends back after ``DLE !``, whether ``AT+VTR`` (full duplex) works,
and how keys are reported. The driver (:mod:`drivers.modem`) and the emulator
(:mod:`drivers.modem_emulator`) read the same table, so an emulated chipset behaves the way
the driver expects the real one to. Facts and sources: telephony.md §7.

Also here: the DLE shielding codes (§7.2), :func:`dle_escape` (DTE -> modem audio),
:class:`DleDecoder` (either direction, incremental), and the sample codecs (8-bit unsigned PCM,
A-law, mu-law) as whole-buffer numpy / native calls.
"""
import dataclasses

import numpy as np

from voiceboard import dsp

# DLE shielding (telephony.md §7.2).
DLE = 0x10
ETX = 0x03
CAN = 0x18
SUB = 0x1A
DLE_ETX = bytes([DLE, ETX])
DLE_CAN = bytes([DLE, CAN])
DLE_RX_ABORT = b"\x10!"        # end of +VRX
DLE_DUPLEX_END = b"\x10^"      # end of +VTR (vgetty)

# Codes the modem reports after DLE (telephony.md §7.2, modem -> DTE).
DTMF_CODES = frozenset("0123456789*#ABCD")
SHIELD_START = "/"             # DLE / DLE 5 ... DLE ~ : one key held down
SHIELD_END = "~"
RING_CODE = "R"
HANGUP_CODES = "bdlsq"         # busy, dial tone, loop-current interruption, silence, quiet
TX_UNDERRUN_CODE = "u"
RX_OVERRUN_CODE = "o"

CODECS = ("u8", "alaw", "ulaw")


@dataclasses.dataclass(frozen=True)
class Format:
    """One ``AT+VSM`` sample format: its argument string and how the bytes are coded."""
    vsm: str            # argument of AT+VSM=, e.g. "1,8000,0,0"
    codec: str          # "u8" (unsigned 8-bit PCM, 0x80 = 0), "alaw", "ulaw"


@dataclasses.dataclass(frozen=True)
class Profile:
    """A chipset family (see the table PROFILES)."""
    name: str
    description: str
    product_codes: tuple        # what ATI0 answers
    formats: dict               # format name -> Format
    default_format: str
    vsm_list: tuple             # the lines AT+VSM=? prints
    end_play: bytes             # what the DTE sends to end +VTX
    record_end: str             # what the modem sends after DLE !: "etx" (DLE ETX) or "ok"
    full_duplex: bool           # AT+VTR works: the modem hears while it plays (barge-in)
    vls_reply: str              # final result of AT+VLS=1: "OK" or "VCON" (both are legal)
    silence_setting: str        # AT+VSD=<sds>,<sdi>
    dtmf_report: str            # "shielded" (DLE / DLE d ... DLE ~, repeated) or "single"
    hangup_events: str = HANGUP_CODES

    def format(self, name=None):
        return self.formats[name or self.default_format]

    def format_for_cml(self, cml):
        """The Format whose AT+VSM argument starts with ``cml`` (an int), or None."""
        for fmt in self.formats.values():
            if int(fmt.vsm.split(",")[0]) == cml:
                return fmt
        return None


PROFILES = {
    # Conexant / Rockwell (CX93001, RC56): cml 1 = unsigned 8-bit PCM at 8000, used as
    # "AT+VSM=1,8000,0,0" by callattendant (telephony.md §7.1 [CNXT][CALLATT]).
    "conexant": Profile(
        name="conexant",
        description="Conexant/Rockwell voice modem (CX93001, RC56)",
        product_codes=("56000",),
        formats={"u8": Format("1,8000,0,0", "u8")},
        default_format="u8",
        vsm_list=('1,"UNSIGNED PCM",8,0,(8000),(0),(0)',
                  '129,"IMA ADPCM",4,0,(8000),(0),(0)',
                  '130,"UNSIGNED PCM",8,0,(8000),(0),(0)',
                  '140,"2 BIT ADPCM",2,0,(8000),(0),(0)',
                  '141,"4 BIT ADPCM",4,0,(8000),(0),(0)'),
        # callattendant ends play on Conexant with DLE DLE DLE ETX: an escaped 0x10 data
        # octet, then DLE ETX (telephony.md §7.3); the chipset takes it.
        end_play=bytes([DLE, DLE]) + DLE_ETX,
        # callattendant waits for OK after DLE ! on Conexant (telephony.md §7.3).
        record_end="ok",
        # ⚠ full duplex (+VTR) on Conexant is not confirmed by a primary source here:
        # the URL option duplex=0|1 overrides it.
        full_duplex=True,
        vls_reply="OK",
        # callattendant: silence detection 0 on Conexant (telephony.md §7.1 +VSD).
        silence_setting="AT+VSD=0,50",
        dtmf_report="shielded",
    ),
    # U.S. Robotics 5637 (USB CDC-ACM): cml 128 "8-BIT LINEAR", used as "AT+VSM=128,8000"
    # by callattendant; its silence is 0x7F/0x80, i.e. offset binary like unsigned PCM
    # (telephony.md §7.1 [USRCR][CALLATT], ⚠ coding inferred from that silence value).
    "usr": Profile(
        name="usr",
        description="U.S. Robotics 5637 USB voice modem",
        product_codes=("5601",),
        formats={"linear": Format("128,8000", "u8"),
                 "u8": Format("1,8000", "u8"),
                 "ulaw": Format("131,8000", "ulaw"),
                 "alaw": Format("132,8000", "alaw")},
        default_format="linear",
        vsm_list=('1,"UNSIGNED PCM",8,0,(7200,8000),(0),(0)',
                  '128,"8-BIT LINEAR",8,0,(7200,8000),(0),(0)',
                  '129,"ADPCM",4,0,(7200,8000),(0),(0)',
                  '130,"UNSIGNED PCM",8,0,(7200,8000),(0),(0)',
                  '131,"ULAW",8,0,(7200,8000),(0),(0)',
                  '132,"ALAW",8,0,(7200,8000),(0),(0)',
                  '133,"LINEAR 16",16,0,(7200,8000),(0),(0)'),
        end_play=DLE_ETX,
        # USR 5637 "returns <DLE><ETX>" after DLE ! (callattendant, telephony.md §7.3).
        record_end="etx",
        full_duplex=False,
        vls_reply="VCON",
        # USR default AT+VSD=128,50: sensitivity 128, 5.0 s silence (telephony.md §7.1).
        silence_setting="AT+VSD=128,50",
        dtmf_report="single",
    ),
}


def profile(name):
    """The Profile called ``name``; ValueError naming the known ones otherwise."""
    try:
        return PROFILES[name]
    except KeyError:
        raise ValueError(f"modem profile {name!r} is not known (known: {', '.join(PROFILES)})") from None


def profile_for_product(code):
    """The Profile whose ATI0 product code is ``code``, or None."""
    for prof in PROFILES.values():
        if code in prof.product_codes:
            return prof
    return None


# --- wire format ------------------------------------------------------------------------------

def dle_escape(data):
    """Audio bytes for the modem: every 0x10 doubled (telephony.md §7.2)."""
    return bytes(data).replace(b"\x10", b"\x10\x10")


class DleDecoder:
    """Splits a DLE-shielded byte stream into data and codes, across reads.

    ``feed(chunk)`` returns a list of ``("data", bytes)`` and ``("code", str)`` items in
    order. DLE DLE is one 0x10 data octet; with ``sub=True`` (modem -> DTE) DLE SUB is two.
    A DLE at the end of a chunk waits for the next one. The scan jumps from DLE to DLE
    (``bytes.find``), so the cost follows the number of DLEs, not of samples.
    """

    def __init__(self, sub=True):
        self.sub = sub
        self._dle = False

    def reset(self):
        self._dle = False

    def feed(self, chunk):
        out = []
        buf = bytearray()
        data = bytes(chunk)
        i, n = 0, len(data)
        if self._dle and n:
            self._dle = False
            self._code(data[0], buf, out)
            i = 1
        while i < n:
            j = data.find(b"\x10", i)
            if j < 0:
                buf += data[i:]
                break
            buf += data[i:j]
            if j + 1 == n:
                self._dle = True
                break
            self._code(data[j + 1], buf, out)
            i = j + 2
        if buf:
            out.append(("data", bytes(buf)))
        return out

    def _code(self, code, buf, out):
        if code == DLE:
            buf.append(DLE)
        elif code == SUB and self.sub:
            buf += b"\x10\x10"
        else:
            if buf:
                out.append(("data", bytes(buf)))
                buf.clear()
            out.append(("code", chr(code)))


def decode(codec, data):
    """Modem sample bytes -> int16 samples."""
    raw = np.frombuffer(bytes(data), dtype=np.uint8)
    if codec == "u8":
        # Offset binary: 0x80 is zero; one step is 256 in 16-bit.
        return ((raw.astype(np.int16) - 128) << 8).astype(np.int16)
    if codec == "alaw":
        return dsp.alaw2lin(raw)
    if codec == "ulaw":
        return dsp.ulaw2lin(raw)
    raise ValueError(f"modem sample codec {codec!r} is not one of {', '.join(CODECS)}")


def encode(codec, samples):
    """int16 samples -> modem sample bytes."""
    samples = np.asarray(samples, dtype=np.int16)
    if codec == "u8":
        return ((samples >> 8) + 128).astype(np.uint8).tobytes()
    if codec == "alaw":
        return dsp.lin2alaw(samples).tobytes()
    if codec == "ulaw":
        return dsp.lin2ulaw(samples).tobytes()
    raise ValueError(f"modem sample codec {codec!r} is not one of {', '.join(CODECS)}")
