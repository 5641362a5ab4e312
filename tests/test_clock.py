"""Media clocks: virtual time jumps to timers, real time paces to the monotonic clock."""
import asyncio
import time

from voiceboard import clock


def test_virtual_time_runs_an_hour_of_timers_at_once():
    async def main():
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        await asyncio.sleep(3600)
        return loop.time() - t0

    wall = time.monotonic()
    assert clock.run(main()) == 3600
    assert time.monotonic() - wall < 1.0


def test_virtual_time_orders_timers_and_timeouts_deterministically():
    order = []

    async def sleeper(name, delay):
        await asyncio.sleep(delay)
        order.append((name, asyncio.get_running_loop().time()))

    async def main():
        await asyncio.gather(sleeper("b", 2.5), sleeper("a", 1.0), sleeper("c", 2.5))
        try:
            await asyncio.wait_for(asyncio.sleep(10), timeout=0.7)
        except TimeoutError:
            order.append(("timeout", asyncio.get_running_loop().time()))

    clock.run(main())
    assert order == [("a", 1.0), ("b", 2.5), ("c", 2.5), ("timeout", 3.2)]


def test_media_clock_counts_ticks_in_virtual_time():
    async def main():
        mc = clock.MediaClock()
        for _ in range(500):
            await mc.wait_tick()
        return mc.now, mc.late_ticks, asyncio.get_running_loop().time()

    now, late, loop_time = clock.run(main())
    assert abs(now - 10.0) < 1e-9 and late == 0 and abs(loop_time - 9.98) < 1e-6


def test_media_clock_paces_real_time_and_counts_late_ticks():
    async def main():
        mc = clock.MediaClock(tick_seconds=0.01, budget=0.02)
        t0 = time.monotonic()
        for n in range(10):
            await mc.wait_tick()
            if n == 3:
                time.sleep(0.06)        # a stall of 6 ticks: the next ones run late
        return time.monotonic() - t0, mc

    elapsed, mc = clock.run(main(), virtual=False)
    assert 0.085 <= elapsed < 0.5
    assert mc.late_ticks >= 1 and mc.max_lateness >= 0.03
