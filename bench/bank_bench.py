"""Throughput of the bank service: own-account transfers per second with P writer processes,
and the time of one PIN check at the production scrypt cost.

Each run seeds a fresh store (SQLite file in a temp dir, or a PostgreSQL database given with
--pg-url, which must be empty), then P processes each post --transfers transfers between the
accounts of demo customers (distinct customers per process, and once with all processes on the
same customer to show contention). Reconciles afterwards: a run whose books do not balance fails.

Usage: python bench/bank_bench.py [--procs 1,2,4] [--transfers 200] [--pg-url postgresql://...]
"""
import argparse
import multiprocessing
import os
import sys
import tempfile
import time
import urllib.parse

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from ivr.bank import InsufficientFunds, OverDailyLimit, open_bank, security  # noqa: E402
from ivr.bank.seed import demo_plan, seed  # noqa: E402

PLAN = demo_plan()
BENCH_COST = security.PinCost(n=2 ** 8)   # seeding only; the PIN check is timed at 2**14
CUSTOMERS = [0, 2, 4, 6, 8, 10, 12, 14]   # current + fixed deposit each


def _worker(url, index, count, start, out):
    bank = open_bank(url, pin_cost=BENCH_COST)
    cred = PLAN[index].accounts[0].credential
    session = bank.identify(cred.number, cred.pin)
    rows = bank.balances(session)
    cur, fixed = rows[0].account_id, rows[1].account_id
    start.wait()
    t0 = time.perf_counter()
    done = 0
    for i in range(count):
        src, dst = (cur, fixed) if i % 2 else (fixed, cur)
        try:
            bank.transfer(session, src, dst, 100 + i, f"bench-{os.getpid()}:{i}")
            done += 1
        except (InsufficientFunds, OverDailyLimit):
            pass
    out.put((done, time.perf_counter() - t0))
    bank.close()


def run(url, procs, count, shared):
    ctx = multiprocessing.get_context("fork")
    out, start = ctx.Queue(), ctx.Barrier(procs + 1)
    ps = [ctx.Process(target=_worker, args=(url, CUSTOMERS[0 if shared else i % len(CUSTOMERS)],
                                            count, start, out)) for i in range(procs)]
    for p in ps:
        p.start()
    start.wait()
    t0 = time.perf_counter()
    results = [out.get() for _ in ps]
    wall = time.perf_counter() - t0
    for p in ps:
        p.join()
    return sum(d for d, _ in results), wall


def fresh_store(args, tag):
    if args.pg_url:
        import psycopg
        name = f"bench_{tag}_{os.getpid()}"
        with psycopg.connect(args.pg_url, autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        url = urllib.parse.urlsplit(args.pg_url)._replace(path=f"/{name}").geturl()
    else:
        url = os.path.join(tempfile.mkdtemp(prefix="bankbench-"), "bank.db")
    with open_bank(url, pin_cost=BENCH_COST) as bank:
        seed(bank, PLAN)
    return url


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--procs", default="1,2,4")
    ap.add_argument("--transfers", type=int, default=200, help="per process")
    ap.add_argument("--pg-url", help="an existing database to create bench databases from")
    args = ap.parse_args()
    backend = "postgresql" if args.pg_url else "sqlite (WAL, synchronous=FULL)"
    print(f"backend: {backend}; {os.cpu_count()} cores; load {os.getloadavg()[0]:.2f}")
    stored = security.hash_pin("123456")
    t0 = time.perf_counter()
    for _ in range(10):
        security.verify_pin("123456", stored)
    print(f"PIN check at scrypt n=2**14 r=8 p=1: {(time.perf_counter() - t0) * 100:.1f} ms")
    print("| processes | accounts | transfers | wall s | transfers/s |")
    print("|---|---|---|---|---|")
    for shared in (False, True):
        for procs in (int(p) for p in args.procs.split(",")):
            url = fresh_store(args, f"{procs}{'s' if shared else 'd'}")
            done, wall = run(url, procs, args.transfers, shared)
            with open_bank(url, pin_cost=BENCH_COST) as bank:
                report = bank.reconcile()
            if not report.ok:
                sys.exit(f"books do not balance after {procs} processes")
            where = "one customer" if shared else "own customer each"
            print(f"| {procs} | {where} | {done} | {wall:.2f} | {done / wall:.0f} |")


if __name__ == "__main__":
    main()
