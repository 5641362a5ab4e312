"""Deterministic demo data for the bank service (demo data only: never a real card).

:func:`demo_plan` draws every customer, card, PIN and balance from ``random.Random(seed)``,
so the same seed gives the same bank on every machine; :func:`seed` writes a plan into an
empty store. The rates below are demo figures of the order of a large Chinese bank's
published tables in late 2025, not live rates.
"""
import datetime as dt
import random
from dataclasses import dataclass, field

from . import security
from .sqlite import CHINA_TZ

DEFAULT_SEED = 20261125
DEFAULT_PERSONAL = 32
DEFAULT_CORPORATE = 4
# History is dated before this instant so that a seeded store looks the same whenever it is
# created; tests and the demo pass their own clock for new operations.
BASE_TIME = dt.datetime(2026, 11, 1, 9, 0, tzinfo=CHINA_TZ)

DEBIT_BIN = "622202"      # demo BINs in the UnionPay 62 range: 19-digit debit cards,
CREDIT_BIN = "625965"     # 16-digit credit cards (lengths as issued by Chinese banks)
DAILY_LIMIT = 5_000_000   # fen: ¥50,000 a day by phone, a common bank default (demo value)

# ISO 4217 minor digits.
CURRENCIES = [("CNY", 2), ("USD", 2), ("EUR", 2), ("JPY", 0), ("HKD", 2), ("GBP", 2)]
# CNY price of `unit` units = mantissa / 10**scale yuan (buy = bank buys foreign).
FOREX = [("USD", 100, 2, 70950, 71250), ("EUR", 100, 2, 82100, 82700),
         ("JPY", 100, 4, 45500, 45850), ("HKD", 100, 2, 9115, 9150),
         ("GBP", 100, 2, 93200, 93900)]
# Basis points a year (demo): demand deposit, time deposits by term, LPR-based loans and
# housing provident fund loans.
INTEREST = [("current", 0, 5), ("fixed", 3, 65), ("fixed", 6, 85), ("fixed", 12, 95),
            ("fixed", 24, 105), ("fixed", 36, 125), ("fixed", 60, 130),
            ("loan", 12, 300), ("loan", 60, 350),
            ("housing_fund_loan", 60, 210), ("housing_fund_loan", 360, 260)]
# service, fixed fen, rate bp, minimum fen, maximum fen (demo).
FEES = [("remit_other_bank", 0, 5, 200, 5000), ("statement_fax", 500, 0, 500, 500),
        ("statement_email", 0, 0, 0, 0), ("card_replacement", 1000, 0, 1000, 1000),
        ("sms_alert_monthly", 200, 0, 200, 200), ("forex_trade", 0, 0, 0, 0)]

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = ["伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟",
         "涛", "明", "超", "秀英", "霞", "平", "刚", "桂英"]
COMPANIES = ["华东机电有限公司", "申城物流股份有限公司", "长江食品有限公司", "新港贸易有限公司"]


@dataclass
class DemoCredential:
    number: str
    pin: str
    kind: str                   # debit_card, credit_card, account


@dataclass
class DemoAccount:
    kind: str
    currency: str
    number: str
    opening: int                # minor units, negative when owed
    extra: dict = field(default_factory=dict)
    credential: DemoCredential = None


@dataclass
class DemoCustomer:
    name: str
    kind: str
    language: str
    accounts: list


def _digits(rng, n):
    return "".join(rng.choice("0123456789") for _ in range(n))


def _luhn_number(rng, prefix, length):
    body = prefix + _digits(rng, length - len(prefix) - 1)
    return body + security.luhn_check_digit(body)


def _pin(rng):
    while True:
        pin = _digits(rng, 6)
        if len(set(pin)) > 2:   # banks refuse PINs like 111111 or 121212
            return pin


def demo_plan(seed=DEFAULT_SEED, personal=DEFAULT_PERSONAL, corporate=DEFAULT_CORPORATE):
    """The deterministic list of :class:`DemoCustomer` for ``seed``."""
    rng = random.Random(seed)
    used = set()

    def unique(prefix, length):
        while True:
            n = _luhn_number(rng, prefix, length)
            if n not in used:
                used.add(n)
                return n

    base = BASE_TIME.date()
    customers = []
    for i in range(personal):
        accounts = []
        debit = DemoAccount("current", "CNY", unique("1001", 19),
                            rng.randrange(100_000, 20_000_000), {"daily_limit": DAILY_LIMIT})
        debit.credential = DemoCredential(unique(DEBIT_BIN, 19), _pin(rng), "debit_card")
        accounts.append(debit)
        if i % 2 == 0:
            term = rng.choice([3, 6, 12, 24, 36, 60])
            rate = dict(((p, t), r) for p, t, r in INTEREST)[("fixed", term)]
            accounts.append(DemoAccount("fixed", "CNY", unique("1002", 19),
                                        rng.randrange(1_000_000, 50_000_000),
                                        {"rate_bp": rate,
                                         "maturity_date": base + dt.timedelta(days=30 * term)}))
        if i % 5 != 4:
            limit = rng.choice([1_000_000, 2_000_000, 5_000_000])
            used_credit = rng.randrange(0, limit // 2)
            credit = DemoAccount("credit", "CNY", unique("4001", 19), -used_credit,
                                 {"credit_limit": limit, "due_amount": used_credit,
                                  "due_date": base + dt.timedelta(days=24)})
            credit.credential = DemoCredential(unique(CREDIT_BIN, 16), _pin(rng), "credit_card")
            accounts.append(credit)
        if i % 4 == 1:
            principal = rng.randrange(20_000_000, 150_000_000)
            accounts.append(DemoAccount("loan", "CNY", unique("3001", 19), -principal,
                                        {"next_instalment": principal // 240,
                                         "next_instalment_date": base + dt.timedelta(days=20),
                                         "rate_bp": 350}))
        if i % 2 == 1:
            fund = DemoAccount("housing_fund", "CNY", unique("8001", 16),
                               rng.randrange(500_000, 30_000_000))
            if i % 4 == 3:
                fund.credential = DemoCredential(fund.number, _pin(rng), "account")
            accounts.append(fund)
        if i % 3 == 0:
            accounts.append(DemoAccount("securities", "CNY", unique("5001", 16),
                                        rng.randrange(0, 10_000_000)))
        if i % 4 == 0:
            cur = ["USD", "HKD", "EUR", "JPY", "GBP"][(i // 4) % 5]
            minor = dict(CURRENCIES)[cur]
            accounts.append(DemoAccount("current", cur, unique("1001", 19),
                                        rng.randrange(10_000, 1_000_000) * 10 ** minor // 100))
        name = rng.choice(SURNAMES) + rng.choice(GIVEN)
        customers.append(DemoCustomer(name, "personal", "en" if i % 8 == 7 else "zh", accounts))
    for i in range(corporate):
        acct = DemoAccount("corporate", "CNY", unique("2001", 19),
                           rng.randrange(50_000_000, 2_000_000_000))
        acct.credential = DemoCredential(acct.number, _pin(rng), "account")
        customers.append(DemoCustomer(COMPANIES[i % len(COMPANIES)], "corporate", "zh", [acct]))
    return customers


def seed(bank, plan=None):
    """Write ``plan`` (default :func:`demo_plan`) and the rate tables into an empty store.

    Opening balances are posted from the internal EQUITY account of each currency, and each
    current account gets a short history against the internal CLEARING account, so the
    journal explains every balance. PINs are hashed at ``bank.pin_cost``.
    """
    plan = demo_plan() if plan is None else plan
    hashed = {}
    for cust in plan:
        for acct in cust.accounts:
            if acct.credential:
                hashed[acct.credential.number] = security.hash_pin(acct.credential.pin,
                                                                   bank.pin_cost)
    rng = random.Random(DEFAULT_SEED + 1)
    with bank._tx() as cur:
        if bank._one(cur, "SELECT COUNT(*) AS n FROM customers")["n"]:
            raise ValueError("bank store already has customers: seed an empty store")
        for code, minor in CURRENCIES:
            bank._exec(cur, "INSERT INTO currencies (code, minor_digits) VALUES (?, ?)",
                       (code, minor))
        for row in FOREX:
            bank._exec(cur, "INSERT INTO forex_rates (currency, unit, scale, buy, sell,"
                       " updated_at) VALUES (?, ?, ?, ?, ?, ?)", (*row, BASE_TIME.isoformat()))
        for row in INTEREST:
            bank._exec(cur, "INSERT INTO interest_rates (product, term_months, rate_bp)"
                       " VALUES (?, ?, ?)", row)
        for row in FEES:
            bank._exec(cur, "INSERT INTO fees (service, fixed, rate_bp, minimum, maximum)"
                       " VALUES (?, ?, ?, ?, ?)", row)
        internal = {}
        for code, _ in CURRENCIES:
            for name in ("EQUITY", "FXPOS", "CLEARING"):
                number = f"{name}-{code}"
                internal[number] = bank._one(cur, "INSERT INTO accounts (number, kind, currency)"
                                             " VALUES (?, 'internal', ?) RETURNING id",
                                             (number, code))["id"]
        opened = BASE_TIME - dt.timedelta(days=60)
        for cust in plan:
            cid = bank._one(cur, "INSERT INTO customers (name, kind, language) VALUES (?, ?, ?)"
                            " RETURNING id", (cust.name, cust.kind, cust.language))["id"]
            for acct in cust.accounts:
                ex = acct.extra
                aid = bank._one(cur, "INSERT INTO accounts (number, customer_id, kind, currency,"
                                " daily_limit, credit_limit, due_amount, due_date, rate_bp,"
                                " maturity_date, next_instalment, next_instalment_date)"
                                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                                (acct.number, cid, acct.kind, acct.currency,
                                 ex.get("daily_limit"), ex.get("credit_limit"),
                                 ex.get("due_amount"), _iso(ex.get("due_date")),
                                 ex.get("rate_bp"), _iso(ex.get("maturity_date")),
                                 ex.get("next_instalment"),
                                 _iso(ex.get("next_instalment_date"))))["id"]
                if acct.credential:
                    c = acct.credential
                    bank._exec(cur, "INSERT INTO credentials (number, kind, customer_id,"
                               " account_id, pin_hash) VALUES (?, ?, ?, ?, ?)",
                               (c.number, c.kind, cid, aid, hashed[c.number]))
                if acct.opening:
                    eq = internal[f"EQUITY-{acct.currency}"]
                    bank._post(cur, "opening", None,
                               [(aid, acct.opening, acct.currency, "opening"),
                                (eq, -acct.opening, acct.currency, "opening")], at=opened)
                if acct.kind == "current" and acct.currency == "CNY":
                    _history(bank, cur, rng, aid, acct.opening, internal["CLEARING-CNY"])


def _history(bank, cur, rng, account_id, balance, clearing):
    """A few salary, shopping and ATM postings dated in the month before BASE_TIME."""
    when = BASE_TIME - dt.timedelta(days=30)
    for _ in range(rng.randrange(3, 7)):
        when += dt.timedelta(days=rng.randrange(1, 6), minutes=rng.randrange(0, 600))
        kind = rng.choice(["salary", "merchant", "merchant", "atm"])
        amount = rng.randrange(1_000, 800_000) if kind == "salary" else -rng.randrange(
            100, max(balance // 10, 200))
        if balance + amount < 0:
            continue
        balance += amount
        bank._post(cur, kind, None, [(account_id, amount, "CNY", kind),
                                     (clearing, -amount, "CNY", "customer")], at=when)


def _iso(day):
    return day.isoformat() if day else None
