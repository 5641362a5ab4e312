"""Bank service operations, run on SQLite and on a real PostgreSQL server.

The PostgreSQL server is started per test session from the Debian postgresql package
(initdb + pg_ctl in a temporary directory, UNIX socket only, run as the ``postgres`` user
when the suite runs as root). PINs are hashed at scrypt n=2**8 here to keep the suite fast;
production uses n=2**14 (see test_bank_security.py and docs/bank.md).
"""
import datetime as dt
import glob
import itertools
import os
import shutil
import subprocess
import tempfile

import psycopg
import pytest

from ivr.bank import (
    CardLocked, CreditCardBalance, FixedDepositBalance, IdempotencyConflict, InsufficientFunds,
    InvalidRequest, LoanBalance, NotAllowed, NotFound, OverDailyLimit, StaleQuote, WrongPin,
    open_bank,
)
from ivr.bank import security
from ivr.bank.seed import demo_plan, seed

TEST_COST = security.PinCost(n=2 ** 8)   # tests only; production is 2**14
PLAN = demo_plan()


class Clock:
    """A settable clock for quote expiry and the daily limit's business day."""

    def __init__(self):
        self.now = dt.datetime(2026, 11, 25, 2, 0, tzinfo=dt.timezone.utc)

    def __call__(self):
        return self.now

    def advance(self, **kw):
        self.now += dt.timedelta(**kw)


def _pg_bin(name):
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found[-1] if found else shutil.which(name)


@pytest.fixture(scope="session")
def pg_server():
    """A throw-away PostgreSQL cluster; yields its socket directory."""
    base = tempfile.mkdtemp(prefix="ivrbank-pg-")
    as_user = []
    if os.geteuid() == 0:   # initdb refuses root: run the server as the package's user
        shutil.chown(base, "postgres", "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    data = os.path.join(base, "data")
    run = dict(check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    subprocess.run(as_user + [_pg_bin("initdb"), "-D", data, "-A", "trust", "-U", "postgres",
                              "-E", "UTF8", "--locale=C", "--no-sync"], **run)
    # fsync off: a test cluster, thrown away after the session.
    subprocess.run(as_user + [_pg_bin("pg_ctl"), "-D", data, "-l", os.path.join(base, "log"),
                              "-w", "-o", f"-k {base} -c listen_addresses= -F", "start"], **run)
    try:
        yield base
    finally:
        subprocess.run(as_user + [_pg_bin("pg_ctl"), "-D", data, "-m", "immediate", "stop"],
                       **run)
        shutil.rmtree(base, ignore_errors=True)


_db_counter = itertools.count()


def pg_url(sockdir, db):
    return f"postgresql://postgres@/{db}?host={sockdir}"


@pytest.fixture(scope="session")
def pg_template(pg_server):
    """A seeded database used as the template of every test's database."""
    with psycopg.connect(pg_url(pg_server, "postgres"), autocommit=True) as conn:
        conn.execute("CREATE DATABASE bank_template")
    with open_bank(pg_url(pg_server, "bank_template"), pin_cost=TEST_COST) as bank:
        seed(bank, PLAN)
    return pg_server


def new_pg_db(sockdir, template="bank_template"):
    name = f"t{os.getpid()}_{next(_db_counter)}"
    with psycopg.connect(pg_url(sockdir, "postgres"), autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name} TEMPLATE {template}")
    return pg_url(sockdir, name)


@pytest.fixture(params=["sqlite", "postgres"])
def store(request, tmp_path):
    """URL of a freshly seeded store of each backend."""
    if request.param == "sqlite":
        path = str(tmp_path / "bank.db")
        with open_bank(path, pin_cost=TEST_COST) as bank:
            seed(bank, PLAN)
        return path
    return new_pg_db(request.getfixturevalue("pg_template"))


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def bank(store, clock):
    with open_bank(store, pin_cost=TEST_COST, clock=clock) as b:
        yield b


def login(bank, index, kind="debit_card"):
    """Session and {plan account: balance row} of demo customer ``index``."""
    cust = PLAN[index]
    cred = next(a.credential for a in cust.accounts if a.credential and a.credential.kind == kind)
    session = bank.identify(cred.number, cred.pin)
    rows = bank.balances(session)
    assert [r.kind for r in rows] == [a.kind for a in cust.accounts]
    return session, cred, {id(a): r for a, r in zip(cust.accounts, rows)}, cust


def account(cust, rows, kind, currency="CNY"):
    a = next(a for a in cust.accounts if a.kind == kind and a.currency == currency)
    return rows[id(a)]


def test_migrations_recorded_once(store):
    with open_bank(store, pin_cost=TEST_COST) as b1:
        assert b1.schema_version() == 2
    with open_bank(store, pin_cost=TEST_COST) as b2:   # reopening applies nothing twice
        with b2._tx(write=False) as cur:
            rows = b2._all(cur, "SELECT version, name FROM schema_version ORDER BY version")
    assert [(r["version"], r["name"]) for r in rows] == [(1, "001_core.sql"), (2, "002_rates.sql")]


def test_identify_every_credential_kind(bank):
    personal, _, rows, cust = login(bank, 0)
    assert personal.customer_kind == "personal" and personal.language == "zh"
    assert personal.login.startswith("6222 **** **** ")
    login(bank, 0, "credit_card")
    login(bank, 3, "account")                                   # housing fund by account number
    corp, _, rows, cust = login(bank, 32, "account")            # corporate account
    assert corp.customer_kind == "corporate"
    assert account(cust, rows, "corporate").balance == cust.accounts[0].opening


def test_wrong_pins_lock_then_admin_unlocks(bank):
    cred = PLAN[1].accounts[0].credential
    wrong = "000000" if cred.pin != "000000" else "111111"
    with pytest.raises(WrongPin) as e:
        bank.identify(cred.number, wrong)
    assert e.value.remaining_tries == 2
    bank.identify(cred.number, cred.pin)                        # a right PIN resets the count
    for remaining in (2, 1):
        with pytest.raises(WrongPin) as e:
            bank.identify(cred.number, wrong)
        assert e.value.remaining_tries == remaining
    with pytest.raises(CardLocked) as e:                        # the third wrong PIN locks
        bank.identify(cred.number, wrong)
    assert e.value.reason == "locked"
    with pytest.raises(CardLocked):                             # now even the right one fails
        bank.identify(cred.number, cred.pin)
    bank.unlock(cred.number)
    bank.identify(cred.number, cred.pin)


def test_lock_threshold_is_configurable(store, clock):
    cred = PLAN[2].accounts[0].credential
    with open_bank(store, pin_cost=TEST_COST, clock=clock, max_pin_tries=5) as b:
        for remaining in (4, 3, 2, 1):
            with pytest.raises(WrongPin) as e:
                b.identify(cred.number, "12345")                # malformed counts as wrong
            assert e.value.remaining_tries == remaining
        with pytest.raises(CardLocked):
            b.identify(cred.number, "12345")


def test_unknown_number(bank):
    with pytest.raises(NotFound):
        bank.identify("6222020000000000000", "123456")
    with pytest.raises(NotFound):
        bank.unlock("6222020000000000000")


def test_balances_of_every_kind(bank):
    session, _, rows, cust = login(bank, 1)     # customer 1: current, credit, loan, housing fund
    credit = account(cust, rows, "credit")
    plan_credit = next(a for a in cust.accounts if a.kind == "credit")
    assert isinstance(credit, CreditCardBalance)
    assert credit.credit_limit == plan_credit.extra["credit_limit"]
    assert credit.due_amount == plan_credit.extra["due_amount"] == -credit.balance
    assert credit.available == credit.credit_limit + credit.balance
    assert credit.due_date == plan_credit.extra["due_date"]
    loan = account(cust, rows, "loan")
    plan_loan = next(a for a in cust.accounts if a.kind == "loan")
    assert isinstance(loan, LoanBalance)
    assert loan.principal_outstanding == -plan_loan.opening > 0
    assert loan.next_instalment == plan_loan.extra["next_instalment"]
    assert loan.next_instalment_date == plan_loan.extra["next_instalment_date"]
    assert account(cust, rows, "housing_fund").balance == next(
        a.opening for a in cust.accounts if a.kind == "housing_fund")
    session0, _, rows0, cust0 = login(bank, 0)
    fixed = account(cust0, rows0, "fixed")
    assert isinstance(fixed, FixedDepositBalance) and fixed.rate_bp > 0
    assert [b.kind for b in bank.securities_balance(session0)] == ["securities"]
    for b in rows.values():
        assert isinstance(b.balance, int) and isinstance(b.available, int)


def test_transfer_current_fixed_and_history(bank):
    session, _, rows, cust = login(bank, 0)
    cur, fixed = account(cust, rows, "current"), account(cust, rows, "fixed")
    r = bank.transfer(session, cur.account_id, fixed.account_id, 12_345, "c1:move")
    assert (r.from_balance, r.to_balance) == (cur.balance - 12_345, fixed.balance + 12_345)
    back = bank.transfer(session, fixed.account_id, cur.account_id, 345, "c1:back")
    assert bank.balance(session, cur.account_id).balance == cur.balance - 12_000
    assert bank.balance(session, fixed.account_id).balance == fixed.balance + 12_000
    newest = bank.recent_transactions(session, cur.account_id, limit=2)
    assert [(t.amount, t.direction, t.counterparty_type) for t in newest] == [
        (345, "in", "own_account"), (12_345, "out", "own_account")]
    assert newest[0].posted_at == bank.clock()
    assert back.transfer_id > r.transfer_id


def test_repay_credit_card(bank):
    session, _, rows, cust = login(bank, 1)
    cur, credit = account(cust, rows, "current"), account(cust, rows, "credit")
    pay = min(credit.due_amount, cur.balance) // 2 or 1
    bank.transfer(session, cur.account_id, credit.account_id, pay, "c2:repay")
    after = bank.balance(session, credit.account_id)
    assert after.due_amount == credit.due_amount - pay
    assert after.balance == credit.balance + pay


def test_insufficient_funds_and_daily_limit(bank, clock):
    session, _, rows, cust = login(bank, 0)
    cur, fixed = account(cust, rows, "current"), account(cust, rows, "fixed")
    with pytest.raises(InsufficientFunds):
        bank.transfer(session, cur.account_id, fixed.account_id, cur.balance + 1, "c3:too-much")
    bank.transfer(session, fixed.account_id, cur.account_id, 30_000_000, "c3:fund")
    limit = next(a for a in cust.accounts if a is not None and a.kind == "current").extra[
        "daily_limit"]
    bank.transfer(session, cur.account_id, fixed.account_id, limit - 1_000_000, "c3:a")
    with pytest.raises(OverDailyLimit) as e:
        bank.transfer(session, cur.account_id, fixed.account_id, 2_000_000, "c3:b")
    assert e.value.remaining == 1_000_000
    bank.transfer(session, cur.account_id, fixed.account_id, 1_000_000, "c3:c")   # exactly up to
    clock.advance(hours=24)                                      # next business day in Beijing
    bank.transfer(session, cur.account_id, fixed.account_id, 2_000_000, "c3:d")


def test_retried_step_posts_once(bank):
    session, _, rows, cust = login(bank, 0)
    cur, fixed = account(cust, rows, "current"), account(cust, rows, "fixed")
    first = bank.transfer(session, cur.account_id, fixed.account_id, 500, "call9:step3")
    again = bank.transfer(session, cur.account_id, fixed.account_id, 500, "call9:step3")
    assert again == first
    assert bank.balance(session, cur.account_id).balance == cur.balance - 500
    with pytest.raises(IdempotencyConflict):
        bank.transfer(session, cur.account_id, fixed.account_id, 501, "call9:step3")
    assert bank.reconcile().ok


def test_refusals(bank):
    session, _, rows, cust = login(bank, 1)
    other, _, rows0, cust0 = login(bank, 0)
    cur, loan = account(cust, rows, "current"), account(cust, rows, "loan")
    with pytest.raises(NotAllowed):
        bank.transfer(session, cur.account_id, loan.account_id, 100, "r:loan")
    with pytest.raises(NotFound):        # someone else's account looks like no account
        bank.transfer(other, account(cust0, rows0, "current").account_id, cur.account_id, 100,
                      "r:foreign")
    with pytest.raises(NotFound):
        bank.balance(other, cur.account_id)
    for bad in (0, -5, 1.5, True, "100"):
        with pytest.raises(InvalidRequest, match="amount"):
            bank.transfer(session, cur.account_id, loan.account_id, bad, "r:bad")


def test_bank_securities_transfers(bank):
    session, _, rows, cust = login(bank, 0)
    cur, sec = account(cust, rows, "current"), account(cust, rows, "securities")
    bank.transfer(session, cur.account_id, sec.account_id, 100_000, "s:in")
    bank.transfer(session, sec.account_id, cur.account_id, 40_000, "s:out")
    assert bank.securities_balance(session)[0].balance == sec.balance + 60_000
    kinds = [t.counterparty_type for t in bank.recent_transactions(session, cur.account_id, 2)]
    assert kinds == ["securities", "securities"]
    with pytest.raises(InsufficientFunds):
        bank.transfer(session, sec.account_id, cur.account_id, sec.balance + 60_001, "s:over")


def test_forex_quote_and_trade(bank, clock):
    session, _, rows, cust = login(bank, 0)     # customer 0 holds a USD current account
    cny, usd = account(cust, rows, "current"), account(cust, rows, "current", "USD")
    q = bank.forex_quote("USD")
    assert (q.unit, q.scale) == (100, 2) and q.buy < q.sell
    r = bank.forex_trade(session, q.quote_id, cny.account_id, usd.account_id, 100_000, "fx:buy")
    # 1000.00 yuan at the selling price q.sell/100 yuan per 100 USD, rounded down to the cent
    assert r.credited == 100_000 * 100 * 100 // q.sell
    assert bank.balance(session, usd.account_id).balance == usd.balance + r.credited
    back = bank.forex_trade(session, q.quote_id, usd.account_id, cny.account_id, 10_000,
                            "fx:sell")
    assert back.credited == q.buy    # 100.00 USD at the buying price: q.buy fen (scale 2)
    assert bank.forex_trade(session, q.quote_id, cny.account_id, usd.account_id, 100_000,
                            "fx:buy") == r
    clock.advance(seconds=30)
    with pytest.raises(StaleQuote):
        bank.forex_trade(session, q.quote_id, cny.account_id, usd.account_id, 100, "fx:late")
    jpy = bank.forex_quote("JPY")
    assert (jpy.unit, jpy.scale) == (100, 4)
    with pytest.raises(NotAllowed):             # a JPY quote does not trade CNY/USD
        bank.forex_trade(session, jpy.quote_id, cny.account_id, usd.account_id, 100, "fx:x")
    with pytest.raises(NotFound):
        bank.forex_quote("XAU")
    rep = bank.reconcile()
    assert rep.ok and rep.totals["USD"] == 0


def test_public_tables(bank):
    rates = {r.currency: r for r in bank.exchange_rates()}
    assert set(rates) == {"USD", "EUR", "JPY", "HKD", "GBP"}
    assert all(isinstance(r.buy, int) and r.buy < r.sell for r in rates.values())
    assert any(r.product == "fixed" and r.term_months == 12 for r in bank.interest_rates())
    fees = {f.service: f for f in bank.fees()}
    assert fees["statement_fax"].fixed == 500


def test_statement_jobs(bank):
    session, _, rows, cust = login(bank, 0)
    cur = account(cust, rows, "current")
    start, end = dt.date(2026, 10, 1), dt.date(2026, 10, 31)
    fax = bank.request_statement(session, cur.account_id, "fax", "02161234567", start, end, "st:1")
    mail = bank.request_statement(session, cur.account_id, "email", "a@example.com", start, end,
                                  "st:2")
    assert fax.job_id != mail.job_id and fax.status == "queued" and mail.channel == "email"
    assert bank.request_statement(session, cur.account_id, "fax", "02161234567", start, end,
                                  "st:1") == fax
    with pytest.raises(InvalidRequest, match="channel"):
        bank.request_statement(session, cur.account_id, "post", "x", start, end, "st:3")


def test_change_pin(bank):
    session, cred, _, _ = login(bank, 4)
    new = "246813" if cred.pin != "246813" else "135792"
    with pytest.raises(WrongPin):
        bank.change_pin(session, "999999" if cred.pin != "999999" else "888888", new)
    with pytest.raises(InvalidRequest):
        bank.change_pin(session, cred.pin, "12ab56")
    bank.change_pin(session, cred.pin, new)
    bank.identify(cred.number, new)
    with pytest.raises(WrongPin):
        bank.identify(cred.number, cred.pin)


def test_lost_card_frozen_at_once(bank):
    session, cred, rows, cust = login(bank, 0)
    cur, fixed = account(cust, rows, "current"), account(cust, rows, "fixed")
    report = bank.report_lost_card(cred.number, "lost:1")
    assert report.reference.startswith("GS20261125") and report.card == session.login
    assert bank.report_lost_card(cred.number, "lost:1") == report
    with pytest.raises(CardLocked) as e:
        bank.identify(cred.number, cred.pin)
    assert e.value.reason == "lost"
    with pytest.raises(CardLocked):     # the live session cannot move money off the card either
        bank.transfer(session, cur.account_id, fixed.account_id, 100, "lost:2")
    with pytest.raises(NotAllowed):
        bank.unlock(cred.number)


def test_complaint_case(bank):
    case = bank.file_complaint("/var/spool/ivrd/rec/c17.wav", "cmp:1", caller_number="13800000000")
    assert case.case_number.startswith("TS20261125")
    assert bank.file_complaint("/var/spool/ivrd/rec/c17.wav", "cmp:1",
                               caller_number="13800000000") == case
    session, _, _, _ = login(bank, 2)
    assert bank.file_complaint("/r/2.wav", "cmp:2", session=session) != case


SQL_INJECTIONS = ["' OR '1'='1", "1; DROP TABLE accounts; --", "\" OR 1=1 --",
                  "6222' UNION SELECT pin_hash FROM credentials --", "%s", "?", "'); DELETE FROM"
                  " postings; --"]


@pytest.mark.parametrize("evil", SQL_INJECTIONS)
def test_sql_injection_strings_are_just_numbers(bank, evil):
    before = bank.reconcile()
    with pytest.raises(NotFound):
        bank.identify(evil, "123456")
    with pytest.raises(NotFound):
        bank.report_lost_card(evil, "inj:" + evil)
    with pytest.raises(NotFound):
        bank.unlock(evil)
    with pytest.raises(NotFound):
        bank.forex_quote(evil)
    after = bank.reconcile()
    assert after.ok and (after.accounts, after.postings) == (before.accounts, before.postings)
    login(bank, 0)


def test_documented_demo_cards_log_in(bank):
    doc = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "docs",
                       "bank.md")
    with open(doc, encoding="utf-8") as f:
        section = f.read().split("## Demo data", 1)[1].split("\n## ", 1)[0]
    rows = [[c.strip() for c in line.strip("|").split("|")] for line in section.splitlines()
            if line.startswith("| ") and line.split("|")[1].strip().isdigit()]
    assert len(rows) >= 20
    for index, name, lang, _, number, pin, _ in rows:
        session = bank.identify(number, pin)
        assert session.customer_id == int(index) + 1 and session.language == lang
        assert PLAN[int(index)].name == name


def test_sqlite_store_settings(tmp_path):
    import sqlite3
    path = str(tmp_path / "b.db")
    with open_bank(path, pin_cost=TEST_COST, busy_timeout=2.5) as bank:
        conn = bank._conn
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == 2500
        with pytest.raises(sqlite3.IntegrityError):     # the journal cannot point nowhere
            with bank._tx() as cur:
                cur.execute("INSERT INTO transfers (kind, created_at) VALUES ('x', 'now')")
                cur.execute("INSERT INTO postings (transfer_id, account_id, amount, currency,"
                            " counterparty_type, posted_at) VALUES (1, 999, 1, 'CNY', 'x', 'n')")


def test_seed_is_deterministic(tmp_path):
    assert demo_plan() == PLAN and demo_plan(seed=7) != PLAN
    dumps = []
    for name in ("a.db", "b.db"):
        with open_bank(str(tmp_path / name), pin_cost=TEST_COST) as bank:
            seed(bank, demo_plan())
            with bank._tx(write=False) as cur:
                dumps.append([tuple(r) for r in bank._all(
                    cur, "SELECT number, kind, currency, balance, due_amount FROM accounts"
                    " ORDER BY id")] + [tuple(r) for r in bank._all(
                    cur, "SELECT account_id, amount, counterparty_type, posted_at FROM postings"
                    " ORDER BY id")])
    assert dumps[0] == dumps[1] and len(dumps[0]) > 400
