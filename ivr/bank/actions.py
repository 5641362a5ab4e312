"""Flow actions that call the bank service (flows/banking.yaml; docs/banking.md).

Importing this module registers ``bank.*`` actions in :data:`ivr.actions.REGISTRY` (the
daemon's flow route option ``actions: ivr.bank.actions``; ``ivr lint/test --actions
ivr.bank.actions``). The service API is synchronous, so every call runs on a worker thread
(``asyncio.to_thread``) and a slow store never stalls the board's tick (in virtual time
they run inline: see :func:`_call`).

The store is :func:`use`'s service if one was given, else ``open_bank($IVR_BANK_URL)``, else
the SQLite file ``bank.db`` in the working directory (the ``python -m ivr.bank`` default).

What the flow gets back:

- never a PIN or a full card/account number: the :class:`ivr.bank.Session` stays here, the
  flow holds an opaque ``token`` for it (:data:`MAX_SESSIONS` at most; ``bank.logout`` drops it);
- money in integer minor units, dates as ``YYYY-MM-DD`` strings, rates as decimal strings
  (what ivr/say.py reads);
- the bank errors an action documents as outcomes the flow routes (``wrong_pin``, ``locked``,
  ``insufficient``, ``over_limit``, ``not_allowed``, ``stale``, ``not_found``, ``invalid``,
  ``none``); any other failure stays an exception (outcome ``error``: the flow's error handler).

Money and request actions take the call's reference ``ref`` (``bank.begin``: the daemon's
call id, else a fresh one) and a step number ``seq`` the flow counts up once per new request:
the idempotency key is ``<ref>:<node>-<seq>``, so a step retried after a timeout or a
re-entered node with the same ``seq`` returns the first result and never posts twice.
"""
import asyncio
import collections
import datetime as dt
import os
import secrets
import threading
import uuid

from ivr.actions import register
from ivr.bank import (BankError, CardLocked, InsufficientFunds,
                      InvalidRequest, NotAllowed, NotFound, OverDailyLimit, StaleQuote, WrongPin,
                      idempotency_key, open_bank)
from ivr.bank.cli import DEFAULT_URL
from ivr.bank.sqlite import CHINA_TZ
from voiceboard import clock

# Sessions held at once: far above the ports of any board we drive (E1 = 30 channels); the
# oldest goes first should a caller's logout never run.
MAX_SESSIONS = 4096
STATEMENT_DAYS = 31             # a phone statement covers the last month (our choice)
TRANSACTIONS_READ = 3           # entries a caller hears; more is what a statement is for

# ISO 4217 minor-unit digits of the currencies the demo bank quotes (ivr/bank/seed.py FOREX).
MINOR_DIGITS = {"CNY": 2, "USD": 2, "EUR": 2, "HKD": 2, "GBP": 2, "JPY": 0}

_lock = threading.Lock()
_bank = None
_sessions = collections.OrderedDict()


def use(bank):
    """Make the flow actions use ``bank`` (a BankService); None reverts to $IVR_BANK_URL."""
    global _bank
    with _lock:
        _bank = bank
        _sessions.clear()


def bank():
    """The service the actions call (opened on first use)."""
    global _bank
    with _lock:
        if _bank is None:
            _bank = open_bank(os.environ.get("IVR_BANK_URL") or DEFAULT_URL)
        return _bank


def _session(token):
    with _lock:
        s = _sessions.get(token)
    if s is None:
        raise NotFound("no session for this call (not logged in)")
    return s


def _keep(session):
    token = secrets.token_hex(8)
    with _lock:
        _sessions[token] = session
        while len(_sessions) > MAX_SESSIONS:
            _sessions.popitem(last=False)
    return token


async def _call(fn, *args):
    """Run a service call off the loop; in virtual time, on it.

    A virtual-time loop jumps to its next timer whenever nothing is ready, so while a worker
    thread waited on the store the board's ticks would run virtual seconds ahead and the
    action's timeout would fire (voiceboard/clock.py). There the call runs inline: time
    stands still while the bank answers, as if it answered at once."""
    if isinstance(asyncio.get_running_loop(), clock.VirtualTimeLoop):
        return fn(*args)
    return await asyncio.to_thread(fn, *args)


def _key(ref, ctx, seq):
    return idempotency_key(str(ref), f"{ctx.node}-{int(seq)}")


_OUTCOMES = [(WrongPin, "wrong_pin"), (CardLocked, "locked"), (InsufficientFunds, "insufficient"),
             (OverDailyLimit, "over_limit"), (StaleQuote, "stale"), (NotAllowed, "not_allowed"),
             (NotFound, "not_found"), (InvalidRequest, "invalid")]


def _errors(exc, *expected):
    """The outcome dict of a bank error the action documents (``expected``); any other one
    (a missing session, IdempotencyConflict, a store failure) is raised again, so the flow's
    error handler takes it rather than a ``next`` edge meant for success."""
    outcome = next((name for cls, name in _OUTCOMES if isinstance(exc, cls)), None)
    if outcome not in expected:
        raise exc
    out = {"outcome": outcome}
    if isinstance(exc, WrongPin):
        out["remaining"] = exc.remaining_tries
    if isinstance(exc, OverDailyLimit):
        out["remaining"] = exc.remaining
    return out


def _day(value):
    return value.isoformat() if value is not None else ""


def _account(balances, kind, currency="CNY"):
    return next((b for b in balances if b.kind == kind and b.currency == currency), None)


# --- call and login ------------------------------------------------------------------------

@register("bank.begin")
async def begin(ctx, call_id):
    """The call's reference for idempotency keys: the daemon's call id, else a fresh one."""
    return {"outcome": "ok", "ref": str(call_id) if call_id else uuid.uuid4().hex[:16]}


@register("bank.login")
async def login(ctx, number, pin, previous=""):
    """Identify by card or account number and PIN. Outcomes: ok (token, personal/corporate),
    wrong_pin (remaining), locked (the service locks at the 3rd wrong PIN), not_found.
    ``previous``: the call's token so far, dropped first (a caller who logs in again in the
    same call leaves no session behind)."""
    await logout(ctx, previous)
    try:
        s = await _call(bank().identify, str(number), str(pin))
    except BankError as exc:
        return _errors(exc, "wrong_pin", "locked", "not_found")
    return {"outcome": "ok", "token": _keep(s), "customer": s.customer_kind, "login": s.login}


@register("bank.logout")
async def logout(ctx, token):
    with _lock:
        _sessions.pop(token, None)
    return "ok"


def open_sessions():
    """How many sessions are held: none once every call has ended (monitoring, tests)."""
    with _lock:
        return len(_sessions)


# --- enquiries -----------------------------------------------------------------------------

@register("bank.balance")
async def balance(ctx, token, kind):
    """The caller's first CNY account of ``kind`` (current, credit, loan, housing_fund,
    corporate, securities). Outcome none when there is no such account."""
    try:
        b = _account(await _call(bank().balances, _session(token)), kind)
    except BankError as exc:
        return _errors(exc)
    if b is None:
        return {"outcome": "none"}
    out = {"outcome": "ok", "kind": b.kind, "balance": b.balance, "available": b.available,
           "owed": max(-b.balance, 0)}
    if b.kind == "credit":
        out.update(credit_limit=b.credit_limit, due_amount=b.due_amount, due_date=_day(b.due_date))
    elif b.kind == "loan":
        out.update(principal=b.principal_outstanding, instalment=b.next_instalment,
                   instalment_date=_day(b.next_instalment_date))
    return out


# Counterparty types of the journal (ivr/bank/sqlite.py ALLOWED_TRANSFERS, seed history)
# folded into what a caller is told.
_COUNTERPARTY = {"salary": "salary", "merchant": "merchant", "atm": "atm", "forex": "forex",
                 "own_account": "own", "card_repayment": "own", "securities": "securities",
                 "bank": "securities"}


@register("bank.transactions")
async def transactions(ctx, token, kind):
    """The newest entries of the caller's ``kind`` account: items of date, amount (fen),
    direction (in/out), counterparty (salary, merchant, atm, own, securities, forex, other)."""
    try:
        s = _session(token)
        b = _account(await _call(bank().balances, s), kind)
        if b is None:
            return {"outcome": "none"}
        rows = await _call(bank().recent_transactions, s, b.account_id, TRANSACTIONS_READ)
    except BankError as exc:
        return _errors(exc)
    items = [{"date": _day(t.posted_at.astimezone(CHINA_TZ).date()), "amount": t.amount,
              "direction": t.direction, "counterparty": _COUNTERPARTY.get(t.counterparty_type, "other")}
             for t in rows]
    return {"outcome": "ok" if items else "empty", "count": len(items), "items": items}


@register("bank.statement")
async def statement(ctx, token, ref, seq, kind, channel, destination):
    """Queue a statement of the last month by fax (destination: the fax number) or e-mail
    (destination: a QQ number, sent to <number>@qq.com); returns the job id's digits."""
    if channel == "email":
        destination = f"{destination}@qq.com"
    try:
        s = _session(token)
        b = _account(await _call(bank().balances, s), kind)
        if b is None:
            return {"outcome": "none"}
        end = dt.datetime.now(CHINA_TZ).date()
        job = await _call(bank().request_statement, s, b.account_id, channel, str(destination),
                          end - dt.timedelta(days=STATEMENT_DAYS), end, _key(ref, ctx, seq))
    except BankError as exc:
        return _errors(exc, "invalid")
    return {"outcome": "ok", "job": job.job_id[2:]}        # "ST00000042": the digits are read


# --- money ---------------------------------------------------------------------------------

@register("bank.transfer")
async def transfer(ctx, token, ref, seq, source, target, amount):
    """Move ``amount`` fen from the caller's ``source`` account to the ``target`` one (kinds:
    current, fixed, credit, securities). Outcomes ok (amount, balance: the source's new
    balance), insufficient, over_limit (remaining fen today), not_allowed, none, locked."""
    try:
        s = _session(token)
        rows = await _call(bank().balances, s)
        src, dst = _account(rows, source), _account(rows, target)
        if src is None or dst is None:
            return {"outcome": "none"}
        r = await _call(bank().transfer, s, src.account_id, dst.account_id, int(amount),
                        _key(ref, ctx, seq))
    except BankError as exc:
        return _errors(exc, "insufficient", "over_limit", "not_allowed", "invalid", "locked")
    return {"outcome": "ok", "amount": r.amount, "balance": r.from_balance,
            "transfer": r.transfer_id}


def _price(mantissa, scale):
    """A quoted price as a decimal string in yuan (ivr/bank: mantissa / 10**scale)."""
    whole, frac = divmod(mantissa, 10 ** scale)
    return f"{whole}.{frac:0{scale}d}" if scale else str(whole)


@register("bank.exchange_rate")
async def exchange_rate(ctx, currency):
    """Board rates for one currency (no login): buy and sell in yuan per ``unit`` units."""
    try:
        rates = await _call(bank().exchange_rates)
    except BankError as exc:
        return _errors(exc)
    r = next((r for r in rates if r.currency == currency), None)
    if r is None:
        return {"outcome": "not_found"}
    return {"outcome": "ok", "unit": r.unit, "buy": _price(r.buy, r.scale),
            "sell": _price(r.sell, r.scale)}


@register("bank.forex_quote")
async def forex_quote(ctx, currency):
    """A firm quote for a trade: buy/sell in yuan per ``unit`` units, valid until it expires."""
    try:
        q = await _call(bank().forex_quote, str(currency))
    except BankError as exc:
        return _errors(exc, "not_found")
    return {"outcome": "ok", "quote": q.quote_id, "unit": q.unit, "buy": _price(q.buy, q.scale),
            "sell": _price(q.sell, q.scale)}


@register("bank.forex_trade")
async def forex_trade(ctx, token, ref, seq, quote, currency, side, amount):
    """Trade at the quoted rate between the caller's CNY and ``currency`` current accounts.

    side ``buy``: ``amount`` is fen of CNY spent; side ``sell``: ``amount`` is whole units of
    ``currency`` sold (a caller keys whole dollars, yen, ...). Outcomes ok (``credited``: what
    reached the target account, a decimal string in its currency's units), stale (the quote
    expired), insufficient, over_limit, not_allowed, invalid, none (no account in that currency).
    """
    try:
        s = _session(token)
        rows = await _call(bank().balances, s)
        cny, foreign = _account(rows, "current"), _account(rows, "current", currency)
        if cny is None or foreign is None or currency not in MINOR_DIGITS:
            return {"outcome": "none"}
        if side == "buy":
            src, dst, minor = cny, foreign, int(amount)
        else:
            src, dst, minor = foreign, cny, int(amount) * 10 ** MINOR_DIGITS[currency]
        r = await _call(bank().forex_trade, s, quote, src.account_id, dst.account_id, minor,
                        _key(ref, ctx, seq))
    except BankError as exc:
        return _errors(exc, "stale", "insufficient", "over_limit", "not_allowed", "invalid", "locked")
    digits = MINOR_DIGITS[dst.currency]
    return {"outcome": "ok", "credited": _price(r.credited, digits), "transfer": r.transfer_id}


# --- public tables -------------------------------------------------------------------------

def _percent(bp):
    """Basis points a year as a percent string (145 -> "1.45")."""
    return f"{bp // 100}.{bp % 100:02d}"


@register("bank.interest_rates")
async def interest_rates(ctx):
    """Demand deposit, 1-year and 3-year fixed deposit, 5-year loan rates in percent."""
    try:
        rows = await _call(bank().interest_rates)
    except BankError as exc:
        return _errors(exc)
    table = {(r.product, r.term_months): _percent(r.rate_bp) for r in rows}
    want = {"current": ("current", 0), "fixed_1y": ("fixed", 12), "fixed_3y": ("fixed", 36),
            "loan_5y": ("loan", 60)}
    if any(k not in table for k in want.values()):
        return {"outcome": "not_found"}
    return {"outcome": "ok", **{name: table[k] for name, k in want.items()}}


@register("bank.fees")
async def fees(ctx):
    """Fees read to callers: statement by fax, card replacement (fen), transfers to other banks
    (rate in percent, minimum and maximum in fen)."""
    try:
        rows = {f.service: f for f in await _call(bank().fees)}
    except BankError as exc:
        return _errors(exc)
    need = ("statement_fax", "card_replacement", "remit_other_bank")
    if any(n not in rows for n in need):
        return {"outcome": "not_found"}
    remit = rows["remit_other_bank"]
    return {"outcome": "ok", "fax": rows["statement_fax"].fixed,
            "replacement": rows["card_replacement"].fixed, "remit_rate": _percent(remit.rate_bp),
            "remit_min": remit.minimum, "remit_max": remit.maximum}


# --- service requests ----------------------------------------------------------------------

@register("bank.change_pin")
async def change_pin(ctx, token, old, new):
    """Change the PIN of the card the caller logged in with. Outcomes ok, wrong_pin, locked,
    invalid (not 6 digits)."""
    try:
        await _call(bank().change_pin, _session(token), str(old), str(new))
    except BankError as exc:
        return _errors(exc, "wrong_pin", "locked", "invalid")
    return "ok"


@register("bank.report_lost")
async def report_lost(ctx, ref, seq, number):
    """Freeze a card at once; returns the reference's digits (GS + date + serial)."""
    try:
        r = await _call(bank().report_lost_card, str(number), _key(ref, ctx, seq))
    except BankError as exc:
        return _errors(exc, "not_found")
    return {"outcome": "ok", "reference": r.reference[2:]}


@register("bank.complaint")
async def complaint(ctx, ref, seq, recording, token):
    """Open a complaint case for a recorded message; returns the case number's digits."""
    with _lock:
        s = _sessions.get(token)
    try:
        case = await _call(bank().file_complaint, str(recording), _key(ref, ctx, seq), s,
                           ctx.ani or None)
    except BankError as exc:
        return _errors(exc)
    return {"outcome": "ok", "case": case.case_number[2:]}
