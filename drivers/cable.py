"""The virtual cable: the two ends of a LineBank in two processes, over a UNIX socket.

A load test puts the board (ivrd, or ``emu://analog?cable=PATH``) in one process and the line
simulator (``voiceboard linesim --listen PATH``) in another. Every tick the board sends one
frame and the simulator answers with one, so the simulator runs on the board's clock, real or
virtual, and no frame is ever buffered beyond one tick:

    board -> simulator:  b"VBUP" tick u64, lines u16, tick u16 | offhook u8 x lines
                         | battery to phone u8 x lines | ringing to phone Vrms float32 x lines
                         | up audio int16
    simulator -> board:  b"VBDN" tick u64, lines u16, tick u16 | battery u8 x lines
                         | phone offhook u8 x lines | ringing Vrms float32 x lines
                         | down audio int16

All little-endian. The socket file is created with mode 0600: only its owner may connect.
"""
import asyncio
import os
import socket
import struct

import numpy as np

from voiceboard.errors import BoardError

_HEADER = struct.Struct("<4sQHH")
UP, DOWN = b"VBUP", b"VBDN"


def _up_size(lines, tick):
    return _HEADER.size + 2 * lines + 4 * lines + 2 * lines * tick


def _down_size(lines, tick):
    return _HEADER.size + 2 * lines + 4 * lines + 2 * lines * tick


def _bits(array):
    return array.astype(np.uint8).tobytes()


class CableEnd:
    """The board's end: one blocking round trip per tick."""

    def __init__(self, path, bank, timeout=5.0):
        self.bank = bank
        self.path = path
        self.tick_number = 0
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._sock.settimeout(timeout)
        try:
            self._sock.connect(path)
        except OSError as exc:
            self._sock.close()
            raise BoardError(f"cable {path}: cannot connect to the line simulator: {exc.strerror or exc}") from None
        self._down = bytearray(_down_size(bank.lines, bank.tick))

    def close(self):
        self._sock.close()

    def exchange(self):
        """Send the board's last tick, receive the far end's next one into the bank."""
        bank = self.bank
        self.tick_number += 1
        frame = (_HEADER.pack(UP, self.tick_number, bank.lines, bank.tick) + _bits(bank.offhook)
                 + _bits(bank.battery_to_phone) + bank.ring_to_phone.astype("<f4").tobytes()
                 + bank.up.astype("<i2").tobytes())
        try:
            self._sock.sendall(frame)
            view = memoryview(self._down)
            got = 0
            while got < len(view):
                n = self._sock.recv_into(view[got:])
                if n == 0:
                    raise ConnectionError("the line simulator closed the cable")
                got += n
        except OSError as exc:
            raise BoardError(f"cable {self.path}: {exc}") from None
        magic, tick, lines, size = _HEADER.unpack_from(self._down)
        if magic != DOWN or tick != self.tick_number or lines != bank.lines or size != bank.tick:
            raise BoardError(f"cable {self.path}: out of step (tick {tick}, expected {self.tick_number})")
        off = _HEADER.size
        bank.battery[:] = np.frombuffer(self._down, np.uint8, lines, off).astype(bool)
        off += lines
        bank.phone_offhook[:] = np.frombuffer(self._down, np.uint8, lines, off).astype(bool)
        off += lines
        bank.ring_v[:] = np.frombuffer(self._down, "<f4", lines, off)
        off += 4 * lines
        bank.down[...] = np.frombuffer(self._down, "<i2", lines * size, off).reshape(lines, size)


async def serve(path, bank, on_tick, ready=None):
    """The simulator's end: answer the board's ticks until it hangs up the cable.

    ``on_tick()`` runs once per tick between reading the board's frame into ``bank`` and
    sending the bank's answer (it is where the exchange ticks). ``ready`` (an asyncio.Event)
    is set once the socket listens.
    """
    done = asyncio.get_running_loop().create_future()
    up_size = _up_size(bank.lines, bank.tick)

    async def board_connected(reader, writer):
        try:
            while True:
                try:
                    frame = await reader.readexactly(up_size)
                except asyncio.IncompleteReadError:
                    break
                magic, tick, lines, size = _HEADER.unpack_from(frame)
                if magic != UP or lines != bank.lines or size != bank.tick:
                    raise BoardError(f"cable {path}: the board has {lines} lines x {size}, "
                                     f"this simulator {bank.lines} x {bank.tick}")
                off = _HEADER.size
                bank.offhook[:] = np.frombuffer(frame, np.uint8, lines, off).astype(bool)
                off += lines
                bank.battery_to_phone[:] = np.frombuffer(frame, np.uint8, lines, off).astype(bool)
                off += lines
                bank.ring_to_phone[:] = np.frombuffer(frame, "<f4", lines, off)
                off += 4 * lines
                bank.up[...] = np.frombuffer(frame, "<i2", lines * size, off).reshape(lines, size)
                on_tick()
                writer.write(_HEADER.pack(DOWN, tick, lines, size) + _bits(bank.battery)
                             + _bits(bank.phone_offhook) + bank.ring_v.astype("<f4").tobytes()
                             + bank.down.astype("<i2").tobytes())
                await writer.drain()
        except Exception as exc:       # surfaced to serve()'s caller, not lost in a callback
            if not done.done():
                done.set_exception(exc)
        finally:
            writer.close()
            if not done.done():
                done.set_result(None)

    if os.path.exists(path):
        os.unlink(path)
    server = await asyncio.start_unix_server(board_connected, path=path)
    os.chmod(path, 0o600)
    if ready is not None:
        ready.set()
    try:
        await done
    finally:
        server.close()
        if os.path.exists(path):
            os.unlink(path)
