"""What a simulated person on a line does with audio: press keys, speak, listen, wait for a
tone. The analog exchange's ports (drivers/linesim.py) and the E1 exchange's
(drivers/e1exchange.py) share it; each exchange gives its ports a media engine (a
voiceboard.dsp.Board on the exchange side, one channel per line), a random generator and a
region, and each port class its own line states.
"""
import asyncio

import numpy as np

from voiceboard import dsp


class CallEnded(Exception):
    """The other side hung up while a caller was waiting for something."""


class Subscriber:
    """Audio side of one line of a simulated exchange.

    Subclasses set ``IDLE`` and ``CONNECTED`` (members of their own state enum) and
    ``LABEL`` (how errors name the line).
    """

    IDLE = CONNECTED = None
    LABEL = "port"

    def __init__(self, exchange, number):
        self.exchange = exchange
        self.number = number
        self.state = self.IDLE
        self.heard = []                 # int16 chunks the board sent while listening
        self._idle = asyncio.Event()
        self._idle.set()
        self._prompt_waiters = {}

    async def press(self, digits, level_dbm0=-10.0, twist_db=0.0, on_ms=80, off_ms=80,
                    noise_dbm0=None, codec=None):
        """Press keys: DTMF audio towards the board, waits until it has been sent."""
        audio = dsp.dtmf_samples(digits, level_dbm0=level_dbm0, twist_db=twist_db, on_ms=on_ms, off_ms=off_ms)
        await self.send(audio, noise_dbm0=noise_dbm0, codec=codec)

    async def send(self, samples, noise_dbm0=None, codec=None):
        """Send audio (int16 at 8 kHz, or a WAV path) to the board and wait until it is out;
        optionally with white noise at ``noise_dbm0`` and through a G.711 ``codec``."""
        self._require_connected("send")
        if not isinstance(samples, np.ndarray):
            from voiceboard.audio import read_audio
            samples, _ = read_audio(samples)
        if noise_dbm0 is not None:
            # 0 dBm0 sine RMS = 16141 (telephony.md §1.4)
            noise = self.exchange.rng.standard_normal(samples.size) * 16141.0 * 10 ** (noise_dbm0 / 20)
            samples = np.clip(np.round(samples + noise), -32768, 32767).astype(np.int16)
        if codec == "alaw":
            samples = dsp.alaw2lin(dsp.lin2alaw(samples))
        elif codec == "ulaw":
            samples = dsp.ulaw2lin(dsp.lin2ulaw(samples))
        done = asyncio.get_running_loop().create_future()
        self._prompt_waiters[self.exchange.engine.play(self.number, samples)] = done
        await self._until(done)

    async def wait(self, seconds):
        """Do nothing for ``seconds`` (still on the line)."""
        await self._until(asyncio.ensure_future(asyncio.sleep(seconds)))

    async def listen(self, seconds):
        """Hear the board for ``seconds``; return what was heard (int16)."""
        self._require_connected("listen")
        engine = self.exchange.engine
        engine.take_recording(self.number)
        engine.start_record(self.number, int((seconds + 1) * dsp.SAMPLE_RATE))
        try:
            await self._until(asyncio.ensure_future(asyncio.sleep(seconds)), allow_end=True)
        finally:
            engine.stop_record(self.number)
        heard = engine.take_recording(self.number)
        self.heard.append(heard)
        return heard

    async def wait_for(self, kinds=("silence",), timeout=30.0, **cpd_options):
        """Listen until the call-progress detector reports one of ``kinds`` ("silence",
        "voice", or a tone name such as "busy"); return that name, or None on timeout."""
        self._require_connected("wait_for")
        ex = self.exchange
        detector = dsp.CallProgressDetector(getattr(ex.region, "name", ex.region), **cpd_options)
        engine = ex.engine
        engine.take_recording(self.number)
        engine.start_record(self.number, int(2 * dsp.SAMPLE_RATE))
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        try:
            while loop.time() < deadline:
                await self._until(asyncio.ensure_future(asyncio.sleep(ex.tick_s)), allow_end=True)
                for ev in detector.feed(engine.take_recording(self.number)):
                    name = ev.tone if ev.kind == "tone" else ev.kind
                    if name in kinds:
                        return name
                if self.state is not self.CONNECTED:
                    raise CallEnded(f"{self.LABEL} {self.number}: the board hung up")
            return None
        finally:
            engine.stop_record(self.number)
            detector.close()

    async def wait_idle(self, timeout=None):
        """Wait until the line is idle again."""
        async with asyncio.timeout(timeout):
            await self._idle.wait()

    def _require_connected(self, what):
        if self.state is not self.CONNECTED:
            raise CallEnded(f"{self.LABEL} {self.number}: {what}() on a line that is {self.state.value}")

    async def _until(self, awaitable, allow_end=False):
        """Wait for something, unless the line goes idle first (CallEnded)."""
        idle = asyncio.ensure_future(self._idle.wait())
        try:
            done, _ = await asyncio.wait({awaitable, idle}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            idle.cancel()
        if awaitable not in done:
            awaitable.cancel()
            if not allow_end:
                raise CallEnded(f"{self.LABEL} {self.number}: the board hung up")

    def _set(self, state):
        self.state = state
        if state is self.IDLE:
            self._idle.set()
        else:
            self._idle.clear()

    def _prompt_done(self, prompt):
        done = self._prompt_waiters.pop(prompt, None)
        if done is not None and not done.done():
            done.set_result(None)
