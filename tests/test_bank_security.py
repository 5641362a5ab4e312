"""PIN hashing, Luhn, masking, and a scan of everything a session logs or raises.

The session scan runs a caller's whole repertoire (including wrong PINs, a lock, a PIN
change and a lost-card report) and then searches the log records, exception texts, result
reprs and the journal tables for any PIN or full card/account credential number.
"""
import datetime as dt
import logging
import re

import pytest

from ivr.bank import BankError, open_bank, security
from ivr.bank.seed import demo_plan, seed
from test_bank_service import PLAN, TEST_COST, Clock


def test_production_cost_is_the_documented_default():
    assert security.PRODUCTION_COST == security.PinCost(n=2 ** 14, r=8, p=1)
    stored = security.hash_pin("482913")
    assert stored.startswith("scrypt$16384$8$1$")
    assert security.stored_cost(stored) == security.PRODUCTION_COST
    assert security.verify_pin("482913", stored)
    assert not security.verify_pin("482914", stored)


def test_hashes_are_salted_and_verified_with_compare_digest(monkeypatch):
    a, b = security.hash_pin("123789", TEST_COST), security.hash_pin("123789", TEST_COST)
    assert a != b and "123789" not in a
    calls = []
    real = security.hmac.compare_digest
    monkeypatch.setattr(security.hmac, "compare_digest",
                        lambda x, y: calls.append(1) or real(x, y))
    assert security.verify_pin("123789", a) and security.verify_pin("123789", b)
    assert len(calls) == 2
    assert not security.verify_pin("123789", a.replace("scrypt", "md5"))
    assert not security.verify_pin("123789", "garbage")
    assert not security.verify_pin("12378", a)


@pytest.mark.parametrize("n", [0, 1, 1000])
def test_cost_must_be_a_power_of_two(n):
    with pytest.raises(ValueError, match="PinCost.n"):
        security.PinCost(n=n)


def test_luhn_and_masking():
    assert security.luhn_valid("79927398713")          # the textbook example (ISO/IEC 7812-1)
    assert not security.luhn_valid("79927398710")
    numbers = [a.credential.number for c in demo_plan() for a in c.accounts if a.credential]
    assert len(numbers) > 40
    for n in numbers:
        assert security.luhn_valid(n)
        broken = n[:-1] + str((int(n[-1]) + 1) % 10)
        assert not security.luhn_valid(broken)
    assert security.mask_number("6222021234567890123") == "6222 **** **** 0123"
    assert security.mask_number("12345") == "****"
    assert security.mask_number("1' OR '1'='1") == "****"


def _secrets():
    pins = {a.credential.pin for c in PLAN for a in c.accounts if a.credential}
    numbers = {a.credential.number for c in PLAN for a in c.accounts if a.credential}
    return pins, numbers


def test_no_pin_or_card_number_leaks_from_a_session(tmp_path, caplog):
    path = str(tmp_path / "bank.db")
    clock = Clock()
    texts = []
    new_pin = "580417"
    with open_bank(path, pin_cost=TEST_COST, clock=clock) as bank:
        seed(bank, PLAN)
        caplog.set_level(logging.DEBUG)
        debit = PLAN[0].accounts[0].credential
        credit = next(a.credential for a in PLAN[0].accounts if a.kind == "credit")
        victim = PLAN[5].accounts[0].credential

        def attempt(fn, *args):
            try:
                result = fn(*args)
            except BankError as exc:
                texts.extend([str(exc), repr(exc), repr(exc.args)])
                return None
            texts.append(repr(result))
            return result

        for _ in range(4):                                       # wrong, wrong, lock, locked
            attempt(bank.identify, victim.number, "000001")
        attempt(bank.identify, victim.number, victim.pin)
        attempt(bank.identify, "6222020000000000000", debit.pin)
        session = attempt(bank.identify, debit.number, debit.pin)
        rows = attempt(bank.balances, session)
        cur, fixed = rows[0], rows[1]
        attempt(bank.transfer, session, cur.account_id, fixed.account_id, 1_000, "s:1")
        attempt(bank.transfer, session, cur.account_id, fixed.account_id, 10 ** 12, "s:2")
        attempt(bank.recent_transactions, session, cur.account_id)
        q = attempt(bank.forex_quote, "USD")
        attempt(bank.forex_trade, session, q.quote_id, cur.account_id, rows[4].account_id,
                5_000, "s:3")
        attempt(bank.request_statement, session, cur.account_id, "email", "a@example.com",
                dt.date(2026, 10, 1), dt.date(2026, 10, 31), "s:4")
        attempt(bank.change_pin, session, "000002", new_pin)
        attempt(bank.change_pin, session, debit.pin, new_pin)
        attempt(bank.identify, debit.number, new_pin)
        attempt(bank.report_lost_card, credit.number, "s:5", session)
        attempt(bank.identify, credit.number, credit.pin)
        attempt(bank.unlock, credit.number)
        attempt(bank.unlock, victim.number)
        attempt(bank.file_complaint, "/rec/1.wav", "s:6", session)
        with bank._tx(write=False) as c:
            for table in ("transfers", "postings", "operations", "lost_reports",
                          "statement_jobs", "complaints"):
                texts.extend(repr(tuple(r)) for r in bank._all(c, f"SELECT * FROM {table}"))
    texts.append(caplog.text)
    texts.extend(str(r.args) for r in caplog.records)
    assert len(caplog.records) > 10                  # the session did log
    blob = "\n".join(texts)
    pins, numbers = _secrets()
    pins.add(new_pin)
    for pin in pins:
        assert not re.search(rf"(?<!\d){pin}(?!\d)", blob), "a PIN leaked"
    for number in numbers:
        assert number not in blob, f"{security.mask_number(number)} leaked in full"
    assert "**** ****" in blob                       # the masked forms are what appear


def test_weaker_hash_is_upgraded_on_login(tmp_path):
    path = str(tmp_path / "bank.db")
    with open_bank(path, pin_cost=TEST_COST) as bank:
        seed(bank, PLAN)
    cred = PLAN[0].accounts[0].credential
    with open_bank(path) as bank:                       # production cost
        bank.identify(cred.number, cred.pin)
        with bank._tx(write=False) as cur:
            stored = bank._one(cur, "SELECT pin_hash FROM credentials WHERE number = ?",
                               (cred.number,))["pin_hash"]
        assert security.stored_cost(stored) == security.PRODUCTION_COST
        bank.identify(cred.number, cred.pin)
    with open_bank(path, pin_cost=TEST_COST) as bank:   # never downgraded
        bank.identify(cred.number, cred.pin)
        with bank._tx(write=False) as cur:
            assert bank._one(cur, "SELECT pin_hash FROM credentials WHERE number = ?",
                             (cred.number,))["pin_hash"] == stored
