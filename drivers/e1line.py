"""The E1 span as a transport, and one end of it as a whole: framer, R2 signalling and the
30 bearer channels.

A span is a stream of 32-octet frames at 8000 frames/s in each direction. Two ends connect
back to back in one process through a pair of :class:`FramePipe` (each a bounded elastic
store), or between two processes over a local stream socket (:class:`SocketPipe`: socketpair
or UNIX socket, one length-framed message per tick). Neither buffers without bound: a reader
that finds too few frames repeats the last one, a writer that finds the store full deletes
the oldest frames -- G.704 controlled slips, each counted.

:class:`Faults` damages what goes into a pipe the way a bad line does: bit errors at a rate,
loss of signal (all zeros), AIS (all ones), and frame slips on request.

:class:`SpanEnd` is what both the board and the simulated exchange put on a span: an
:class:`voiceboard.dsp.E1Framer`, an :class:`voiceboard.r2.R2Port` per channel, and the A-law
conversion of the bearer. Per tick it takes the line octets in, hands the 30 channels' audio
and line signals up, and builds the line octets out; every per-sample step is in C.
"""
import select
import socket
import struct
import time

import numpy as np

from voiceboard import dsp
from voiceboard.r2 import R2Port

FRAME = dsp.E1_TIMESLOTS
CHANNELS = dsp.E1_CHANNELS


class FramePipe:
    """One direction of a span in one process: a bounded store of frames.

    ``capacity`` frames at most are held (default 640 = 4 ticks = 80 ms: room for a reader
    a few ticks late, bounded); see the module docstring for the slips. ``slips`` counts frames deleted or repeated.
    """

    def __init__(self, capacity=640):
        self.capacity = capacity
        self._buf = np.zeros((capacity, FRAME), dtype=np.uint8)
        self._start = 0
        self._fill = 0
        self._last = np.full(FRAME, 0xFF, dtype=np.uint8)
        self.slips = 0
        self.faults = None

    def write(self, octets):
        frames = np.asarray(octets, dtype=np.uint8).reshape(-1, FRAME)
        if self.faults is not None:
            frames = self.faults.apply(frames)
        n = frames.shape[0]
        over = self._fill + n - self.capacity
        if over > 0:
            # Controlled slip: the oldest frames are deleted.
            drop = min(over, self._fill)
            self._start = (self._start + drop) % self.capacity
            self._fill -= drop
            self.slips += over
            frames = frames[max(0, n - self.capacity):]
            n = frames.shape[0]
        end = (self._start + self._fill) % self.capacity
        first = min(n, self.capacity - end)
        self._buf[end:end + first] = frames[:first]
        self._buf[:n - first] = frames[first:]
        self._fill += n

    def read(self, frames):
        """``frames`` frames as octets; the last frame is repeated if fewer are stored."""
        out = np.empty((frames, FRAME), dtype=np.uint8)
        take = min(frames, self._fill)
        first = min(take, self.capacity - self._start)
        out[:first] = self._buf[self._start:self._start + first]
        out[first:take] = self._buf[:take - first]
        self._start = (self._start + take) % self.capacity
        self._fill -= take
        if take:
            self._last = out[take - 1].copy()
        if take < frames:
            out[take:] = self._last
            self.slips += frames - take
        return out.reshape(-1)

    @property
    def fill(self):
        return self._fill


class SocketPipe:
    """One end of a span over a local stream socket (socketpair or UNIX socket).

    Each tick is one message: a 4-octet big-endian length and the frames' octets.
    :meth:`write` sends; :meth:`read` takes whole messages that have arrived (without
    waiting), keeps at most ``capacity`` frames and slips as :class:`FramePipe` does.
    """

    def __init__(self, sock, capacity=640):
        self.sock = sock
        sock.setblocking(False)
        self.store = FramePipe(capacity)
        self._partial = b""
        self.faults = None
        self.closed = False

    @property
    def slips(self):
        return self.store.slips

    def write(self, octets):
        octets = np.asarray(octets, dtype=np.uint8).reshape(-1)
        if self.faults is not None:
            octets = self.faults.apply(octets.reshape(-1, FRAME)).reshape(-1)
        data = struct.pack(">I", octets.size) + octets.tobytes()
        self.sock.setblocking(True)
        try:
            self.sock.sendall(data)
        except OSError:
            self.closed = True
        finally:
            self.sock.setblocking(False)

    def _pull(self):
        while True:
            try:
                chunk = self.sock.recv(1 << 16)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                chunk = b""
            if not chunk:
                self.closed = True
                return
            self._partial += chunk
            while len(self._partial) >= 4:
                (size,) = struct.unpack(">I", self._partial[:4])
                if size % FRAME or size > 1 << 20:
                    raise ValueError(f"E1 socket: message of {size} octets is not whole frames")
                if len(self._partial) < 4 + size:
                    break
                self.store.write(np.frombuffer(self._partial[4:4 + size], dtype=np.uint8))
                self._partial = self._partial[4 + size:]

    def read(self, frames):
        self._pull()
        return self.store.read(frames)

    def wait(self, frames, timeout):
        """Block until ``frames`` frames have arrived (for an end paced by the line rather
        than by its own clock); False on timeout or when the other end has gone."""
        deadline = time.monotonic() + timeout
        while True:
            self._pull()
            if self.store.fill >= frames:
                return True
            left = deadline - time.monotonic()
            if self.closed or left <= 0:
                return False
            select.select([self.sock], [], [], left)

    @property
    def fill(self):
        return self.store.fill

    def close(self):
        self.sock.close()


def link(capacity=640):
    """Two in-process pipes: (a-to-b, b-to-a)."""
    return FramePipe(capacity), FramePipe(capacity)


def socket_link(sock=None, capacity=640):
    """A :class:`SocketPipe` on ``sock``, or a pair of them on a new socketpair."""
    if sock is not None:
        return SocketPipe(sock, capacity)
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    return SocketPipe(a, capacity), SocketPipe(b, capacity)


class Faults:
    """Line faults applied to frames going into a pipe.

    ber: bit error rate (0 for none); los: send all zeros; ais: send all ones (unframed);
    :meth:`slip` deletes (n > 0) or repeats (n < 0) frames of the next tick.
    """

    def __init__(self, seed=0):
        self.rng = np.random.default_rng(seed)
        self.ber = 0.0
        self.los = False
        self.ais = False
        self._slip = 0
        self.bit_errors = 0
        self.slips = 0

    def slip(self, n=1):
        self._slip += n

    def apply(self, frames):
        if self.los:
            return np.zeros_like(frames)
        if self.ais:
            return np.full_like(frames, 0xFF)
        if self.ber > 0:
            bits = frames.size * 8
            n = self.rng.binomial(bits, self.ber)
            if n:
                frames = frames.copy()
                pos = self.rng.integers(0, bits, n)
                flat = frames.reshape(-1)
                np.bitwise_xor.at(flat, pos // 8, (0x80 >> (pos % 8)).astype(np.uint8))
                self.bit_errors += n
        if self._slip > 0:
            n = min(self._slip, frames.shape[0] - 1)
            frames = np.concatenate([frames[:1], frames[1 + n:]])
            self._slip -= n
            self.slips += n
        elif self._slip < 0:
            n = min(-self._slip, frames.shape[0])
            frames = np.concatenate([frames[:1]] * (n + 1) + [frames[1:]])
            self._slip += n
            self.slips += n
        return frames


class SpanEnd:
    """Framer, R2 signalling and bearer of one end of a span (see the module docstring).

    Parameters
    ----------
    r2config : voiceboard.r2.R2Config
    framer : dict
        Settings for :class:`voiceboard.dsp.E1Framer` (crc4=..., ...).
    accept : callable(channel, dnis, ani) -> bool, optional
        Group B answer for incoming calls (free or busy).
    tick : int
        Frames (= samples per channel) per tick.
    """

    def __init__(self, r2config, framer=None, accept=None, tick=160, **mf_params):
        self.tick_frames = tick
        self.framer = dsp.E1Framer(**(framer or {}))
        self.ports = []
        for c in range(CHANNELS):
            send = (lambda abcd, ch=c + 1: self.framer.set_abcd(ch, abcd))
            acc = None if accept is None else (lambda dnis, ani, ch=c: accept(ch, dnis, ani))
            self.ports.append(R2Port(r2config, send, acc, **mf_params))
        self.rx = np.zeros((CHANNELS, tick), dtype=np.int16)
        self._rx_alaw = np.zeros((CHANNELS, tick), dtype=np.uint8)
        self._line = np.zeros(tick * FRAME, dtype=np.uint8)
        self._abcd = bytes(CHANNELS)
        self.status = self.framer.status()

    def close(self):
        for p in self.ports:
            p.close()
        self.framer.close()

    def receive(self, line, now):
        """Take a tick of line octets: fills :attr:`rx` (int16 audio per channel), updates
        :attr:`status` and passes ABCD changes to the R2 state machines (not while the
        CAS multiframe is missing). Returns (old alarms, new alarms)."""
        self.framer.receive(line, out=self._rx_alaw)
        self.rx[...] = dsp.alaw2lin(self._rx_alaw)
        old = self.status["alarms"]
        self.status = st = self.framer.status()
        if st["cas_aligned"] and st["abcd"] != self._abcd:
            prev, self._abcd = self._abcd, st["abcd"]
            for c in range(CHANNELS):
                if st["abcd"][c] != prev[c] and st["abcd"][c]:
                    self.ports[c].sm.on_abcd(st["abcd"][c], now)
        return old, st["alarms"]

    def transmit(self, tx, now):
        """Run the R2 ports on this tick (MF tones written over ``tx``, int16 (30, tick))
        and build the tick's line octets."""
        for c, port in enumerate(self.ports):
            port.tick(self.rx[c], tx[c], now)
        self.framer.transmit(dsp.lin2alaw(tx), out=self._line)
        return self._line

    def forget_abcd(self):
        """Take the far end's ABCD afresh (after an alarm: the R2 channels were reset)."""
        self._abcd = bytes(CHANNELS)
