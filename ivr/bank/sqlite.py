"""The SQL implementation of BankService, and its SQLite dialect (the embedded default).

:class:`SqlBankService` holds every operation as portable SQL with ``?`` placeholders;
a dialect subclass supplies the connection, the auto-increment column, how a write
transaction starts and the row-lock suffix. :class:`SqliteBankService` opens a file in WAL
mode with foreign keys on and a busy timeout, and starts every write with BEGIN IMMEDIATE so
writers queue on the database lock instead of failing half-way. ivr.bank.postgres reuses the
same SQL on PostgreSQL.
"""
import contextlib
import dataclasses
import datetime as dt
import glob
import hashlib
import json
import logging
import os
import secrets
import sqlite3
import threading

from . import security
from .service import (
    AccountBalance, BankService, CardLocked, ComplaintCase, CreditCardBalance, Fee,
    FixedDepositBalance, ForexQuote, ForexRate, IdempotencyConflict, InsufficientFunds,
    InterestRate, InvalidRequest, LoanBalance, LostCardReport, NotAllowed, NotFound,
    OverDailyLimit, ReconcileReport, Session, StaleQuote, StatementJob, Transaction,
    TransferResult, WrongPin,
)

log = logging.getLogger("ivr.bank")

SCHEMA_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "schema")
CHINA_TZ = dt.timezone(dt.timedelta(hours=8))   # Beijing time, no daylight saving since 1991
DEFAULT_MAX_PIN_TRIES = 3                       # the task's rule; configurable per service
DEFAULT_QUOTE_TTL = dt.timedelta(seconds=30)    # bank policy, configurable
# Seconds a writer waits for the SQLite lock: a transfer holds it for milliseconds
# (bench/bank_bench.py), so 10 s only runs out when the store is stuck.
DEFAULT_BUSY_TIMEOUT = 10.0

# (source kind, target kind) pairs the phone line offers between a caller's own accounts.
ALLOWED_TRANSFERS = {
    ("current", "fixed"): ("own_account", "own_account"),
    ("fixed", "current"): ("own_account", "own_account"),
    ("current", "credit"): ("own_account", "card_repayment"),
    ("current", "securities"): ("securities", "bank"),
    ("securities", "current"): ("bank", "securities"),
}
DEBIT_KINDS = {"current", "fixed", "securities", "corporate"}


def _utcnow():
    return dt.datetime.now(dt.timezone.utc)


def _day(value):
    return dt.date.fromisoformat(value) if value else None


def _check_amount(amount, name="amount"):
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise InvalidRequest(f"{name}: must be an integer number of minor units (fen),"
                             f" got {type(amount).__name__}")
    if amount <= 0:
        raise InvalidRequest(f"{name}: must be positive")


MAX_KEY = 200      # characters: a call id plus a step name, with room to spare
MAX_NUMBER = 64    # characters: longer than any card (19) or account number; longer is no match


def _check_key(key):
    if not isinstance(key, str) or not key or len(key) > MAX_KEY:
        raise InvalidRequest("idem_key: must be a non-empty string of at most 200 characters")


def _number_arg(number):
    if not isinstance(number, str) or len(number) > MAX_NUMBER:
        raise NotFound("no card or account ****")
    return number


class SqlBankService(BankService):
    """BankService on a DB-API connection; subclasses give the dialect.

    Parameters
    ----------
    pin_cost : security.PinCost
        scrypt cost for PINs hashed by this service (change_pin, seeding).
    max_pin_tries : int
        Wrong PINs in a row that lock a card or account.
    quote_ttl : datetime.timedelta
        How long a forex quote can be traded.
    clock : callable
        Returns the current aware datetime (tests pass a controllable one).
    """

    serial = "INTEGER PRIMARY KEY"
    for_update = ""
    begin_write = "BEGIN IMMEDIATE"
    begin_read = "BEGIN"

    def __init__(self, conn, *, pin_cost=security.PRODUCTION_COST,
                 max_pin_tries=DEFAULT_MAX_PIN_TRIES, quote_ttl=DEFAULT_QUOTE_TTL, clock=_utcnow):
        if max_pin_tries < 1:
            raise ValueError(f"max_pin_tries: {max_pin_tries} must be at least 1")
        self._conn = conn
        self._lock = threading.RLock()
        self.pin_cost = pin_cost
        self.max_pin_tries = max_pin_tries
        self.quote_ttl = quote_ttl
        self.clock = clock
        self.migrate()

    # --- plumbing -------------------------------------------------------------------------

    def _sql(self, sql):
        return sql

    def _exec(self, cur, sql, params=()):
        cur.execute(self._sql(sql), params)
        return cur

    def _one(self, cur, sql, params=()):
        return self._exec(cur, sql, params).fetchone()

    def _all(self, cur, sql, params=()):
        return self._exec(cur, sql, params).fetchall()

    def _cursor(self):
        return self._conn.cursor()

    @contextlib.contextmanager
    def _tx(self, write=True):
        """One database transaction; commits on success, rolls back on any exception."""
        with self._lock:
            cur = self._cursor()
            cur.execute(self.begin_write if write else self.begin_read)
            try:
                yield cur
            except BaseException:
                cur.execute("ROLLBACK")
                raise
            cur.execute("COMMIT")

    def _lock_schema(self, cur):
        """Serialise concurrent migrators (SQLite: BEGIN IMMEDIATE already does)."""

    def migrate(self):
        """Apply the numbered schema/NNN_*.sql files not yet recorded in schema_version."""
        with self._tx() as cur:
            self._lock_schema(cur)
            cur.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY,"
                        " name TEXT NOT NULL, applied_at TEXT NOT NULL)")
            row = self._one(cur, "SELECT MAX(version) AS v FROM schema_version")
            current = row["v"] or 0
            for path in sorted(glob.glob(os.path.join(SCHEMA_DIR, "[0-9][0-9][0-9]_*.sql"))):
                name = os.path.basename(path)
                version = int(name[:3])
                if version <= current:
                    continue
                with open(path, encoding="utf-8") as f:
                    script = f.read().replace("{serial}", self.serial)
                for stmt in script.split(";\n"):
                    body = "\n".join(l for l in stmt.splitlines() if not l.strip().startswith("--"))
                    if body.strip():
                        cur.execute(body)
                self._exec(cur, "INSERT INTO schema_version (version, name, applied_at)"
                           " VALUES (?, ?, ?)", (version, name, self.clock().isoformat()))
                log.info("bank schema: applied %s", name)

    def schema_version(self):
        with self._tx(write=False) as cur:
            return self._one(cur, "SELECT MAX(version) AS v FROM schema_version")["v"]

    def _today(self):
        return self.clock().astimezone(CHINA_TZ).date()

    def _operation(self, key, kind, request, fn, result_type):
        """Run ``fn(cur)`` once per idempotency key inside one write transaction.

        The key row is inserted first: a concurrent retry with the same key waits on the
        unique index (PostgreSQL) or the database lock (SQLite), then finds the stored result.
        """
        _check_key(key)
        digest = hashlib.sha256(json.dumps([kind, request], sort_keys=True,
                                           default=str).encode()).hexdigest()
        with self._tx() as cur:
            row = self._one(cur, "INSERT INTO operations (key, kind, request_hash, created_at)"
                            " VALUES (?, ?, ?, ?) ON CONFLICT (key) DO NOTHING RETURNING key",
                            (key, kind, digest, self.clock().isoformat()))
            if row is not None:
                result = fn(cur)
                self._exec(cur, "UPDATE operations SET result = ? WHERE key = ?",
                           (json.dumps(dataclasses.asdict(result), default=str), key))
                return result
            stored = self._one(cur, "SELECT kind, request_hash, result FROM operations"
                               " WHERE key = ?", (key,))
        if stored["kind"] != kind or stored["request_hash"] != digest:
            raise IdempotencyConflict(f"idempotency key {key!r} was used for another request")
        log.info("bank %s: key %s already done, returning the first result", kind, key)
        return result_type(**json.loads(stored["result"]))

    def _post(self, cur, kind, key, legs, at=None):
        """Write one balanced transfer: legs are (account_id, amount, currency, counterparty).

        ``at`` backdates the postings (seeding history only).
        """
        sums = {}
        for _, amount, currency, _ in legs:
            sums[currency] = sums.get(currency, 0) + amount
        if any(sums.values()):
            raise NotAllowed(f"{kind}: postings do not balance")
        now = (at or self.clock()).isoformat()
        tid = self._one(cur, "INSERT INTO transfers (kind, operation_key, created_at)"
                        " VALUES (?, ?, ?) RETURNING id", (kind, key, now))["id"]
        for account_id, amount, currency, counterparty in legs:
            self._exec(cur, "INSERT INTO postings (transfer_id, account_id, amount, currency,"
                       " counterparty_type, posted_at) VALUES (?, ?, ?, ?, ?, ?)",
                       (tid, account_id, amount, currency, counterparty, now))
            self._exec(cur, "UPDATE accounts SET balance = balance + ? WHERE id = ?",
                       (amount, account_id))
        return tid

    def _internal_account(self, cur, number):
        row = self._one(cur, "SELECT id, currency FROM accounts WHERE number = ? AND"
                        " kind = 'internal'", (number,))
        if row is None:
            raise NotFound(f"internal account {number} missing (seed the bank)")
        return row

    def _owned(self, cur, session, account_ids, lock=False):
        """The session's accounts by id (row-locked in id order when ``lock``)."""
        ids = sorted(set(account_ids))
        marks = ", ".join("?" for _ in ids)
        rows = self._all(cur, f"SELECT * FROM accounts WHERE id IN ({marks}) AND customer_id = ?"
                         f" ORDER BY id{self.for_update if lock else ''}",
                         (*ids, session.customer_id))
        found = {r["id"]: r for r in rows}
        for i in ids:
            if i not in found:
                raise NotFound(f"account id {i} not found for this caller")
        return found

    # --- identification -------------------------------------------------------------------

    def _credential(self, cur, number):
        return self._one(cur, "SELECT c.*, cu.kind AS customer_kind, cu.language FROM"
                         " credentials c JOIN customers cu ON cu.id = c.customer_id"
                         " WHERE c.number = ?", (number,))

    def _raise_if_blocked(self, cred):
        masked = security.mask_number(cred["number"])
        if cred["status"] == "lost":
            raise CardLocked(f"{masked} is reported lost and frozen", "lost")
        if cred["status"] == "locked":
            raise CardLocked(f"{masked} is locked after {self.max_pin_tries} wrong PINs",
                             "locked")

    def _check_pin(self, cred, pin):
        """Verify ``pin`` for a credential row and count the result atomically."""
        ok = security.verify_pin(pin, cred["pin_hash"])
        masked = security.mask_number(cred["number"])
        with self._tx() as cur:
            if ok:
                row = self._one(cur, "UPDATE credentials SET failed_tries = 0 WHERE id = ?"
                                " AND status = 'active' RETURNING id", (cred["id"],))
            else:
                row = self._one(cur, "UPDATE credentials SET failed_tries = failed_tries + 1,"
                                " status = CASE WHEN failed_tries + 1 >= ? THEN 'locked'"
                                " ELSE status END WHERE id = ? AND status = 'active'"
                                " RETURNING failed_tries, status",
                                (self.max_pin_tries, cred["id"]))
            fresh = self._one(cur, "SELECT number, status FROM credentials WHERE id = ?",
                              (cred["id"],))
        if row is None:
            self._raise_if_blocked(fresh)
        if ok:
            self._upgrade_hash(cred, pin)
        if not ok:
            log.warning("bank: wrong PIN for %s (%d of %d)", masked, row["failed_tries"],
                        self.max_pin_tries)
            if row["status"] == "locked":
                raise CardLocked(f"{masked} is locked after {self.max_pin_tries} wrong PINs",
                                 "locked")
            raise WrongPin(self.max_pin_tries - row["failed_tries"])

    def _upgrade_hash(self, cred, pin):
        """Rehash a PIN stored at a lower cost than this service's setting (after a right PIN)."""
        old = security.stored_cost(cred["pin_hash"])
        new = self.pin_cost
        if old.n >= new.n and old.r >= new.r and old.p >= new.p:
            return
        stored = security.hash_pin(pin, self.pin_cost)
        with self._tx() as cur:     # only if nobody changed the PIN meanwhile
            self._exec(cur, "UPDATE credentials SET pin_hash = ? WHERE id = ? AND pin_hash = ?",
                       (stored, cred["id"], cred["pin_hash"]))

    def identify(self, number, pin):
        number = _number_arg(number)
        with self._tx(write=False) as cur:
            cred = self._credential(cur, number)
        if cred is None:
            raise NotFound(f"no card or account {security.mask_number(number)}")
        self._raise_if_blocked(cred)
        self._check_pin(cred, pin)
        log.info("bank: %s identified", security.mask_number(number))
        return Session(cred["customer_id"], cred["id"], cred["customer_kind"], cred["language"],
                       security.mask_number(number))

    def change_pin(self, session, old_pin, new_pin):
        try:
            security.check_pin_format(new_pin)
        except ValueError:
            raise InvalidRequest("new_pin: must be 6 digits") from None
        with self._tx(write=False) as cur:
            cred = self._one(cur, "SELECT * FROM credentials WHERE id = ? AND customer_id = ?",
                             (session.credential_id, session.customer_id))
        if cred is None:
            raise NotFound("credential of this session not found")
        self._raise_if_blocked(cred)
        self._check_pin(cred, old_pin)
        stored = security.hash_pin(new_pin, self.pin_cost)
        with self._tx() as cur:
            self._exec(cur, "UPDATE credentials SET pin_hash = ?, failed_tries = 0 WHERE id = ?",
                       (stored, cred["id"]))
        log.info("bank: PIN changed for %s", session.login)

    def report_lost_card(self, card_number, idem_key, session=None):
        card_number = _number_arg(card_number)
        masked = security.mask_number(card_number)

        def run(cur):
            cred = self._one(cur, "SELECT * FROM credentials WHERE number = ? AND kind IN"
                             " ('debit_card', 'credit_card')", (card_number,))
            if cred is None or (session is not None
                                and cred["customer_id"] != session.customer_id):
                raise NotFound(f"no card {masked}")
            self._exec(cur, "UPDATE credentials SET status = 'lost' WHERE id = ?", (cred["id"],))
            now = self.clock()
            rid = self._one(cur, "INSERT INTO lost_reports (credential_id, created_at)"
                            " VALUES (?, ?) RETURNING id", (cred["id"], now.isoformat()))["id"]
            day = now.astimezone(CHINA_TZ).strftime("%Y%m%d")
            log.info("bank: %s reported lost", masked)
            return LostCardReport(f"GS{day}{rid:06d}", masked)

        return self._operation(idem_key, "lost_card", {"card": card_number}, run, LostCardReport)

    def unlock(self, number):
        number = _number_arg(number)
        masked = security.mask_number(number)
        with self._tx() as cur:
            row = self._one(cur, "UPDATE credentials SET status = 'active', failed_tries = 0"
                            " WHERE number = ? AND status IN ('active', 'locked') RETURNING id",
                            (number,))
            if row is None:
                cred = self._one(cur, "SELECT status FROM credentials WHERE number = ?",
                                 (number,))
        if row is None:
            if cred is None:
                raise NotFound(f"no card or account {masked}")
            raise NotAllowed(f"{masked} is reported lost: re-issue at a branch, not unlock")
        log.info("bank: %s unlocked", masked)

    # --- enquiries ------------------------------------------------------------------------

    def _balance_of(self, row):
        common = dict(account_id=row["id"], number=security.mask_number(row["number"]),
                      kind=row["kind"], currency=row["currency"], balance=row["balance"])
        kind = row["kind"]
        if kind == "credit":
            return CreditCardBalance(available=row["credit_limit"] + row["balance"],
                                     credit_limit=row["credit_limit"],
                                     due_amount=row["due_amount"],
                                     due_date=_day(row["due_date"]), **common)
        if kind == "loan":
            return LoanBalance(available=0, principal_outstanding=-row["balance"],
                               next_instalment=row["next_instalment"],
                               next_instalment_date=_day(row["next_instalment_date"]), **common)
        if kind == "fixed":
            return FixedDepositBalance(available=row["balance"], rate_bp=row["rate_bp"],
                                       maturity_date=_day(row["maturity_date"]), **common)
        frozen = row["status"] != "active"
        return AccountBalance(available=0 if frozen else max(row["balance"], 0), **common)

    def balances(self, session):
        with self._tx(write=False) as cur:
            rows = self._all(cur, "SELECT * FROM accounts WHERE customer_id = ? ORDER BY id",
                             (session.customer_id,))
        return [self._balance_of(r) for r in rows]

    def balance(self, session, account_id):
        with self._tx(write=False) as cur:
            return self._balance_of(self._owned(cur, session, [account_id])[account_id])

    def securities_balance(self, session):
        return [b for b in self.balances(session) if b.kind == "securities"]

    def recent_transactions(self, session, account_id, limit=5):
        # a phone menu reads a handful; 100 bounds the query
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 100:
            raise InvalidRequest("limit: must be an integer from 1 to 100")
        with self._tx(write=False) as cur:
            self._owned(cur, session, [account_id])
            rows = self._all(cur, "SELECT * FROM postings WHERE account_id = ?"
                             " ORDER BY id DESC LIMIT ?", (account_id, limit))
        return [Transaction(dt.datetime.fromisoformat(r["posted_at"]), abs(r["amount"]),
                            "in" if r["amount"] > 0 else "out", r["currency"],
                            r["counterparty_type"]) for r in rows]

    def request_statement(self, session, account_id, channel, destination, start, end,
                          idem_key):
        if channel not in ("fax", "email"):
            raise InvalidRequest(f"channel: {channel!r} is not 'fax' or 'email'")
        if channel == "fax" and not (isinstance(destination, str) and destination.isdigit()):
            raise InvalidRequest("destination: a fax number is digits only")
        if channel == "email" and not (isinstance(destination, str) and "@" in destination):
            raise InvalidRequest("destination: not an e-mail address")
        if not (isinstance(start, dt.date) and isinstance(end, dt.date) and start <= end):
            raise InvalidRequest("start, end: dates with start <= end")

        def run(cur):
            self._owned(cur, session, [account_id])
            jid = self._one(cur, "INSERT INTO statement_jobs (account_id, channel, destination,"
                            " start_day, end_day, created_at) VALUES (?, ?, ?, ?, ?, ?)"
                            " RETURNING id", (account_id, channel, destination,
                                              start.isoformat(), end.isoformat(),
                                              self.clock().isoformat()))["id"]
            return StatementJob(f"ST{jid:08d}", account_id, channel, "queued")

        request = [account_id, channel, destination, start.isoformat(), end.isoformat()]
        return self._operation(idem_key, "statement", request, run, StatementJob)

    # --- money ----------------------------------------------------------------------------

    def _spend(self, cur, account, amount):
        """Balance and daily-limit checks on a locked source row; records the usage."""
        masked = security.mask_number(account["number"])
        if account["status"] != "active":
            raise NotAllowed(f"account {masked} is {account['status']}")
        frozen = self._one(cur, "SELECT COUNT(*) AS n FROM credentials WHERE account_id = ?"
                           " AND status = 'lost'", (account["id"],))["n"]
        if frozen:
            raise CardLocked(f"the card of account {masked} is reported lost", "lost")
        if account["balance"] < amount:
            raise InsufficientFunds(f"account {masked} cannot cover the amount")
        limit = account["daily_limit"]
        if limit is not None:
            day = self._today().isoformat()
            row = self._one(cur, "SELECT used FROM daily_usage WHERE account_id = ? AND day = ?",
                            (account["id"], day))
            used = row["used"] if row else 0
            if used + amount > limit:
                raise OverDailyLimit(f"account {masked}: over the daily limit",
                                     max(limit - used, 0))
            self._exec(cur, "INSERT INTO daily_usage (account_id, day, used) VALUES (?, ?, ?)"
                       " ON CONFLICT (account_id, day) DO UPDATE SET"
                       " used = daily_usage.used + excluded.used", (account["id"], day, amount))

    def transfer(self, session, from_account_id, to_account_id, amount, idem_key):
        _check_amount(amount)
        if from_account_id == to_account_id:
            raise InvalidRequest("to_account_id: same as from_account_id")

        def run(cur):
            rows = self._owned(cur, session, [from_account_id, to_account_id], lock=True)
            src, dst = rows[from_account_id], rows[to_account_id]
            pair = ALLOWED_TRANSFERS.get((src["kind"], dst["kind"]))
            if pair is None:
                raise NotAllowed(f"no phone transfer from {src['kind']} to {dst['kind']}")
            if src["currency"] != dst["currency"]:
                raise NotAllowed("transfer between different currencies: use forex_trade")
            if dst["status"] != "active":
                raise NotAllowed(f"account {security.mask_number(dst['number'])} is"
                                 f" {dst['status']}")
            self._spend(cur, src, amount)
            kind = "card_repayment" if dst["kind"] == "credit" else "transfer"
            tid = self._post(cur, kind, idem_key, [
                (src["id"], -amount, src["currency"], pair[0]),
                (dst["id"], amount, dst["currency"], pair[1]),
            ])
            if dst["kind"] == "credit":
                self._exec(cur, "UPDATE accounts SET due_amount = ? WHERE id = ?",
                           (max(dst["due_amount"] - amount, 0), dst["id"]))
            log.info("bank: transfer %d of %d from %s to %s", tid, amount,
                     security.mask_number(src["number"]), security.mask_number(dst["number"]))
            return TransferResult(tid, src["id"], dst["id"], amount, amount,
                                  src["balance"] - amount, dst["balance"] + amount)

        request = [session.customer_id, from_account_id, to_account_id, amount]
        return self._operation(idem_key, "transfer", request, run, TransferResult)

    def forex_quote(self, currency):
        if not isinstance(currency, str):
            raise InvalidRequest("currency: an ISO 4217 code such as 'USD'")
        with self._tx() as cur:
            rate = self._one(cur, "SELECT * FROM forex_rates WHERE currency = ?", (currency,))
            if rate is None:
                raise NotFound(f"no rate for currency {currency[:8]!r}")
            qid = secrets.token_hex(8)
            expires = self.clock() + self.quote_ttl
            self._exec(cur, "INSERT INTO forex_quotes (id, currency, unit, scale, buy, sell,"
                       " expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                       (qid, currency, rate["unit"], rate["scale"], rate["buy"], rate["sell"],
                        expires.isoformat()))
        return ForexQuote(qid, currency, rate["unit"], rate["scale"], rate["buy"], rate["sell"],
                          expires)

    def forex_trade(self, session, quote_id, from_account_id, to_account_id, amount, idem_key):
        _check_amount(amount)

        def run(cur):
            quote = self._one(cur, "SELECT * FROM forex_quotes WHERE id = ?", (str(quote_id),))
            if quote is None:
                raise NotFound("no such quote")
            if self.clock() >= dt.datetime.fromisoformat(quote["expires_at"]):
                raise StaleQuote(f"quote {quote_id} expired at {quote['expires_at']}")
            rows = self._owned(cur, session, [from_account_id, to_account_id], lock=True)
            src, dst = rows[from_account_id], rows[to_account_id]
            if src["kind"] != "current" or dst["kind"] != "current":
                raise NotAllowed("personal forex trades between current accounts only")
            foreign = quote["currency"]
            if {src["currency"], dst["currency"]} != {"CNY", foreign}:
                raise NotAllowed(f"quote is CNY/{foreign}: accounts must be one of each")
            minor = self._one(cur, "SELECT minor_digits FROM currencies WHERE code = ?",
                              (foreign,))["minor_digits"]
            # price = mantissa / 10**scale yuan per `unit` foreign units; fen = 100 * yuan.
            denom = 10 ** quote["scale"] * quote["unit"] * 10 ** minor
            if src["currency"] == "CNY":      # customer buys foreign at the bank's selling price
                credited = amount * denom // (quote["sell"] * 100)
            else:                             # customer sells foreign at the bank's buying price
                credited = amount * quote["buy"] * 100 // denom
            if credited <= 0:
                raise InvalidRequest("amount: too small to buy one minor unit")
            if dst["status"] != "active":
                raise NotAllowed("target account is not active")
            self._spend(cur, src, amount)
            pos_src = self._internal_account(cur, f"FXPOS-{src['currency']}")
            pos_dst = self._internal_account(cur, f"FXPOS-{dst['currency']}")
            tid = self._post(cur, "forex", idem_key, [
                (src["id"], -amount, src["currency"], "forex"),
                (pos_src["id"], amount, src["currency"], "customer"),
                (pos_dst["id"], -credited, dst["currency"], "customer"),
                (dst["id"], credited, dst["currency"], "forex"),
            ])
            log.info("bank: forex %d %s %d -> %s %d", tid, src["currency"], amount,
                     dst["currency"], credited)
            return TransferResult(tid, src["id"], dst["id"], amount, credited,
                                  src["balance"] - amount, dst["balance"] + credited)

        request = [session.customer_id, str(quote_id), from_account_id, to_account_id, amount]
        return self._operation(idem_key, "forex", request, run, TransferResult)

    # --- public tables --------------------------------------------------------------------

    def interest_rates(self):
        with self._tx(write=False) as cur:
            rows = self._all(cur, "SELECT * FROM interest_rates ORDER BY product, term_months")
        return [InterestRate(r["product"], r["term_months"], r["rate_bp"]) for r in rows]

    def exchange_rates(self):
        with self._tx(write=False) as cur:
            rows = self._all(cur, "SELECT * FROM forex_rates ORDER BY currency")
        return [ForexRate(r["currency"], r["unit"], r["scale"], r["buy"], r["sell"])
                for r in rows]

    def fees(self):
        with self._tx(write=False) as cur:
            rows = self._all(cur, "SELECT * FROM fees ORDER BY service")
        return [Fee(r["service"], r["fixed"], r["rate_bp"], r["minimum"], r["maximum"])
                for r in rows]

    # --- service requests -----------------------------------------------------------------

    def file_complaint(self, recording_path, idem_key, session=None, caller_number=None):
        if not isinstance(recording_path, str) or not recording_path:
            raise InvalidRequest("recording_path: the recorded message's file path")

        def run(cur):
            now = self.clock()
            cid = self._one(cur, "INSERT INTO complaints (customer_id, caller_number,"
                            " recording_path, created_at) VALUES (?, ?, ?, ?) RETURNING id",
                            (session.customer_id if session else None, caller_number,
                             recording_path, now.isoformat()))["id"]
            return ComplaintCase(f"TS{now.astimezone(CHINA_TZ):%Y%m%d}{cid:06d}")

        request = [session.customer_id if session else None, caller_number, recording_path]
        return self._operation(idem_key, "complaint", request, run, ComplaintCase)

    # --- administration -------------------------------------------------------------------

    def reconcile(self):
        with self._tx(write=False) as cur:
            mismatched = self._all(cur, "SELECT a.id, a.balance, COALESCE(SUM(p.amount), 0)"
                                   " AS posted FROM accounts a LEFT JOIN postings p"
                                   " ON p.account_id = a.id GROUP BY a.id, a.balance"
                                   " HAVING a.balance <> COALESCE(SUM(p.amount), 0)")
            unbalanced = self._all(cur, "SELECT transfer_id, currency, SUM(amount) AS s"
                                   " FROM postings GROUP BY transfer_id, currency"
                                   " HAVING SUM(amount) <> 0")
            wrong_currency = self._all(cur, "SELECT p.transfer_id FROM postings p JOIN accounts"
                                       " a ON a.id = p.account_id WHERE p.currency <> a.currency")
            totals = self._all(cur, "SELECT currency, SUM(balance) AS s FROM accounts"
                               " GROUP BY currency ORDER BY currency")
            customer = self._all(cur, "SELECT currency, SUM(balance) AS s FROM accounts"
                                 " WHERE kind <> 'internal' GROUP BY currency ORDER BY currency")
            counts = self._one(cur, "SELECT (SELECT COUNT(*) FROM accounts) AS a,"
                               " (SELECT COUNT(*) FROM transfers) AS t,"
                               " (SELECT COUNT(*) FROM postings) AS p")
        return ReconcileReport(
            accounts=counts["a"], transfers=counts["t"], postings=counts["p"],
            totals={r["currency"]: int(r["s"]) for r in totals},
            customer_totals={r["currency"]: int(r["s"]) for r in customer},
            mismatched_accounts=[(r["id"], int(r["balance"]), int(r["posted"]))
                                 for r in mismatched],
            unbalanced_transfers=sorted({r["transfer_id"] for r in wrong_currency}
                                        | {r["transfer_id"] for r in unbalanced}))


class SqliteBankService(SqlBankService):
    """BankService on one SQLite file (WAL, foreign keys, busy timeout, FULL sync).

    Open one instance per process or thread; instances in several processes share the file
    safely (writers queue on BEGIN IMMEDIATE).
    """

    def __init__(self, path, *, busy_timeout=DEFAULT_BUSY_TIMEOUT, **options):
        self.path = path
        conn = sqlite3.connect(path, timeout=busy_timeout, isolation_level=None,
                               check_same_thread=False)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA foreign_keys = ON")
        # FULL: a committed transfer survives power loss, not only a process crash.
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
        try:
            super().__init__(conn, **options)
        except BaseException:
            conn.close()
            raise

    def close(self):
        self._conn.close()
