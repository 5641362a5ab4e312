"""Media clocks: the same code runs paced to the monotonic clock (real time) or as fast as
the CPU allows (virtual time).

Virtual time is an asyncio event loop whose clock only moves when nothing is ready to run: it
then jumps to the next timer. Every timer in the stack -- the board's 20 ms tick, collect
timeouts, ``asyncio.timeout`` in a flow -- is an ordinary asyncio timer, so tests, the flow
simulator and CI run deterministic hours of calls in seconds, and the daemon runs the same code
on a normal loop in real time. Real I/O is still served in virtual time (it is polled before
time jumps), but a process that waits on another process must use real time: virtual time
cannot know that an answer is on its way.
"""
import asyncio
import selectors

TICK_SAMPLES = 160          # 20 ms at 8 kHz: one tick of every channel of a board
TICK_SECONDS = 0.020


class _VirtualSelector:
    """Wraps a real selector: polls it without waiting, and turns a wait into a time jump."""

    def __init__(self, selector, loop):
        self._selector = selector
        self._loop = loop

    def select(self, timeout=None):
        events = self._selector.select(0)
        if events or timeout == 0:
            return events
        if timeout is None:
            # No timer at all: only real I/O (or a signal) can wake the loop.
            return self._selector.select(None)
        self._loop._advance(timeout)
        return []

    def __getattr__(self, name):
        return getattr(self._selector, name)


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    """asyncio loop on virtual time; ``time()`` starts at ``start`` seconds."""

    def __init__(self, start=0.0):
        self._now = float(start)
        super().__init__(_VirtualSelector(selectors.DefaultSelector(), self))

    def time(self):
        return self._now

    def _advance(self, seconds):
        self._now += seconds


class _SlavedSelector:
    """Waits for I/O only: time cannot pass by itself on a slaved loop."""

    def __init__(self, selector):
        self._selector = selector

    def select(self, timeout=None):
        return self._selector.select(0 if timeout == 0 else None)

    def __getattr__(self, name):
        return getattr(self._selector, name)


class SlavedTimeLoop(asyncio.SelectorEventLoop):
    """asyncio loop whose clock moves only when :meth:`advance` is called -- by the arrival of
    another process's tick. The line simulator at the far end of a virtual cable runs on it,
    so its callers keep the board's time whether the board runs in real or virtual time."""

    def __init__(self):
        self._now = 0.0
        super().__init__(_SlavedSelector(selectors.DefaultSelector()))

    def time(self):
        return self._now

    def advance(self, seconds):
        self._now += seconds


def run(coro, virtual=True):
    """Run a coroutine to completion on a fresh loop: virtual time (True), real time (False),
    or "slaved" (:class:`SlavedTimeLoop`)."""
    factory = {True: VirtualTimeLoop, False: asyncio.new_event_loop, "slaved": SlavedTimeLoop}[virtual]
    with asyncio.Runner(loop_factory=factory) as runner:
        return runner.run(coro)


class MediaClock:
    """Paces ticks of ``tick_seconds`` on the running loop's clock.

    In real time a late tick is not skipped: the loop catches up without sleeping, so the
    sample stream has no gap, and the lateness is counted -- a tick more than ``budget``
    seconds late is an underrun of the buffering the backend has (rings or jitter buffers).
    """

    def __init__(self, tick_seconds=TICK_SECONDS, budget=2 * TICK_SECONDS):
        self.tick_seconds = tick_seconds
        self.budget = budget
        self.ticks = 0
        self.late_ticks = 0
        self.max_lateness = 0.0
        self._start = None

    async def wait_tick(self):
        """Wait until the next tick is due and return its number."""
        loop = asyncio.get_running_loop()
        if self._start is None:
            self._start = loop.time()
        due = self._start + self.ticks * self.tick_seconds
        delay = due - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        else:
            lateness = -delay
            self.max_lateness = max(self.max_lateness, lateness)
            if lateness > self.budget:
                self.late_ticks += 1
            await asyncio.sleep(0)
        number = self.ticks
        self.ticks += 1
        return number

    @property
    def now(self):
        """Media time in seconds: ticks elapsed times the tick length."""
        return self.ticks * self.tick_seconds
