"""Money is neither created nor lost under concurrent callers, retries and a killed process.

Several processes run random transfers between the same customers' accounts on one real
store (a SQLite file, and the test PostgreSQL cluster), every few steps all of them retry the
same idempotency key at once, and one more process is SIGKILLed in the middle of its load.
Afterwards `reconcile` (the library call and `python -m ivr.bank reconcile`) must show the
books balancing to the fen and the customers' total unchanged.
"""
import multiprocessing
import os
import random
import signal
import subprocess
import sys
import time

import pytest

from ivr.bank import InsufficientFunds, OverDailyLimit, open_bank
from ivr.bank.sqlite import ALLOWED_TRANSFERS
from ivr.bank.seed import seed
from test_bank_service import PLAN, TEST_COST, new_pg_db, pg_server, pg_template  # noqa: F401

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CUSTOMERS = [0, 6, 12]      # each has current, fixed, credit card and securities accounts
WORKERS = 4
STEPS = 60
SHARED_EVERY = 3            # every 3rd step all workers post the same key together
KILL_AFTER = 15             # transfers the victim commits before it is killed


def _sessions(bank):
    out = []
    for index in CUSTOMERS:
        cred = PLAN[index].accounts[0].credential
        session = bank.identify(cred.number, cred.pin)
        rows = [b for b in bank.balances(session) if b.currency == "CNY"]
        pairs = [(a.account_id, b.account_id) for a in rows for b in rows
                 if (a.kind, b.kind) in ALLOWED_TRANSFERS]
        out.append((session, pairs))
    return out


def _worker(url, wid, steps, results, killed):
    bank = open_bank(url, pin_cost=TEST_COST)
    rng = random.Random(wid)
    sessions = _sessions(bank)
    posted, shared = 0, {}
    for i in range(steps):
        if i == steps // 2:
            killed.wait(60)     # half the load before the kill, half after it
        if i % SHARED_EVERY == 0:
            # identical request from every worker: exactly one may post
            session, pairs = sessions[(i // SHARED_EVERY) % len(sessions)]
            key = f"shared:{i}"
            src, dst = pairs[0]
            amount = 100 + i
        else:
            session, pairs = rng.choice(sessions)
            key = f"w{wid}:{i}"
            src, dst = rng.choice(pairs)
            amount = rng.randrange(1, 3_000_000)
        try:
            r = bank.transfer(session, src, dst, amount, key)
        except (InsufficientFunds, OverDailyLimit):
            continue
        if key.startswith("shared:"):
            shared[key] = r.transfer_id
        else:
            posted += 1
    bank.close()
    results.put((wid, posted, shared))


def _victim(url, done):
    bank = open_bank(url, pin_cost=TEST_COST)
    sessions = _sessions(bank)
    rng = random.Random(99)
    i = 0
    while True:
        session, pairs = rng.choice(sessions)
        src, dst = rng.choice(pairs)
        try:
            bank.transfer(session, src, dst, rng.randrange(1, 50_000), f"victim:{i}")
            with done.get_lock():
                done.value += 1
        except (InsufficientFunds, OverDailyLimit):
            pass
        i += 1


@pytest.fixture(params=["sqlite", "postgres"])
def store(request, tmp_path):
    if request.param == "sqlite":
        path = str(tmp_path / "bank.db")
        with open_bank(path, pin_cost=TEST_COST) as bank:
            seed(bank, PLAN)
        return path
    return new_pg_db(request.getfixturevalue("pg_template"))


def test_parallel_transfers_and_a_killed_process_keep_the_books(store):
    with open_bank(store, pin_cost=TEST_COST) as bank:
        opening = bank.reconcile()
    assert opening.ok
    ctx = multiprocessing.get_context("fork")
    results = ctx.Queue()
    done = ctx.Value("i", 0)
    killed = ctx.Event()
    victim = ctx.Process(target=_victim, args=(store, done))
    workers = [ctx.Process(target=_worker, args=(store, w, STEPS, results, killed))
               for w in range(WORKERS)]
    victim.start()
    for p in workers:
        p.start()
    deadline = time.monotonic() + 30
    while done.value < KILL_AFTER and time.monotonic() < deadline and victim.is_alive():
        time.sleep(0.005)
    os.kill(victim.pid, signal.SIGKILL)        # mid-load: the workers are not done yet
    victim.join()
    assert all(p.is_alive() for p in workers)
    killed.set()
    assert victim.exitcode == -signal.SIGKILL
    outcome = [results.get(timeout=60) for _ in workers]
    for p in workers:
        p.join(timeout=60)
        assert p.exitcode == 0

    with open_bank(store, pin_cost=TEST_COST) as bank:
        report = bank.reconcile()
        with bank._tx(write=False) as cur:
            by_key = {r["operation_key"]: r["n"] for r in bank._all(
                cur, "SELECT operation_key, COUNT(*) AS n FROM transfers"
                " WHERE operation_key IS NOT NULL GROUP BY operation_key")}
            overdrawn = bank._all(cur, "SELECT id FROM accounts WHERE balance < 0 AND kind IN"
                                  " ('current', 'fixed', 'securities')")
        # the store still takes writes after the kill (no lock left behind)
        session, pairs = _sessions(bank)[0]
        bank.transfer(session, *pairs[0], 1, "after-kill")
    assert report.ok, (report.mismatched_accounts, report.unbalanced_transfers)
    assert report.customer_totals == opening.customer_totals
    assert overdrawn == []                                       # balance checks held
    assert all(n == 1 for n in by_key.values())                  # no key ever posted twice
    worker_posts = sum(posted for _, posted, _ in outcome)
    assert sum(1 for k in by_key if k.startswith("w")) == worker_posts
    victim_posts = sum(1 for k in by_key if k.startswith("victim:"))
    assert done.value >= KILL_AFTER
    assert victim_posts - done.value in (0, 1)   # killed between COMMIT and its counter at most
    for key in {k for _, _, shared in outcome for k in shared}:
        ids = {shared[key] for _, _, shared in outcome if key in shared}
        assert len(ids) == 1 and by_key[key] == 1    # every retry got the first result

    cli = subprocess.run([sys.executable, "-m", "ivr.bank", "--db", store, "reconcile"],
                         cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert cli.returncode == 0, cli.stderr
    assert cli.stdout.strip().endswith("books balance")
    total = opening.customer_totals["CNY"]
    assert f"CNY: customer balances {total}, books total 0" in cli.stdout
