"""The admin command ``python -m ivr.bank``, run as a real subprocess."""
import os
import sqlite3
import subprocess
import sys

import pytest

from ivr.bank import CardLocked, WrongPin, open_bank
from test_bank_service import PLAN, TEST_COST, pg_server, pg_url  # noqa: F401

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def bank_cli(*args):
    # --scrypt-n 256: seeding fast in tests; production hashes at 2**14
    return subprocess.run([sys.executable, "-m", "ivr.bank", "--scrypt-n", "256", *args],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)


def test_init_seed_reconcile_unlock(tmp_path):
    db = str(tmp_path / "bank.db")
    r = bank_cli("--db", db, "init")
    assert r.returncode == 0 and "schema version 2" in r.stdout
    r = bank_cli("--db", db, "seed")
    assert r.returncode == 0 and "seeded 36 demo customers" in r.stdout
    r = bank_cli("--db", db, "seed")
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "already has customers" in r.stderr
    r = bank_cli("--db", db, "reconcile")
    assert r.returncode == 0 and r.stdout.endswith("books balance\n")

    cred = PLAN[7].accounts[0].credential
    with open_bank(db, pin_cost=TEST_COST) as bank:
        for _ in range(2):
            with pytest.raises(WrongPin):
                bank.identify(cred.number, "000009")
        with pytest.raises(CardLocked):
            bank.identify(cred.number, "000009")
    r = bank_cli("--db", db, "unlock-card", cred.number)
    assert r.returncode == 0 and cred.number not in r.stdout and "****" in r.stdout
    with open_bank(db, pin_cost=TEST_COST) as bank:
        bank.identify(cred.number, cred.pin)

    r = bank_cli("--db", db, "unlock-card", "6222020000000000000")
    assert r.returncode == 2 and "6222020000000000000" not in r.stderr
    assert r.stderr.count("\n") == 1 and "Traceback" not in r.stderr


def test_reconcile_catches_a_tampered_balance(tmp_path):
    db = str(tmp_path / "bank.db")
    assert bank_cli("--db", db, "seed").returncode == 0
    with sqlite3.connect(db) as conn:      # money appearing outside the journal
        conn.execute("UPDATE accounts SET balance = balance + 1 WHERE id = 20")
    r = bank_cli("--db", db, "reconcile")
    assert r.returncode == 1
    assert "MISMATCH account 20" in r.stdout and "BOOKS DO NOT BALANCE" in r.stdout
    with sqlite3.connect(db) as conn:      # a one-legged posting
        conn.execute("UPDATE accounts SET balance = balance - 1 WHERE id = 20")
        conn.execute("UPDATE postings SET amount = amount + 1 WHERE id = 1")
    r = bank_cli("--db", db, "reconcile")
    assert r.returncode == 1 and "UNBALANCED transfer 1" in r.stdout


def test_bad_store_is_one_line(tmp_path):
    r = bank_cli("--db", str(tmp_path / "missing" / "bank.db"), "init")
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "Traceback" not in r.stderr


def test_postgres_by_url(pg_server):  # noqa: F811
    import psycopg
    with psycopg.connect(pg_url(pg_server, "postgres"), autocommit=True) as conn:
        conn.execute("CREATE DATABASE cli_fresh")
    url = pg_url(pg_server, "cli_fresh")
    assert bank_cli("--db", url, "init").returncode == 0
    r = bank_cli("--db", url, "seed")
    assert r.returncode == 0, r.stderr
    r = bank_cli("--db", url, "reconcile")
    assert r.returncode == 0 and r.stdout.endswith("books balance\n")


def test_default_url_from_environment(tmp_path):
    db = str(tmp_path / "env.db")
    r = subprocess.run([sys.executable, "-m", "ivr.bank", "init"], cwd=ROOT, capture_output=True,
                       text=True, timeout=60, env={**os.environ, "IVR_BANK_URL": db})
    assert r.returncode == 0 and os.path.exists(db)
