"""The bank service interface used by the phone-banking flows.

A flow identifies the caller (:meth:`BankService.identify`), then calls the operations with the
returned :class:`Session`. Amounts are integers in the account currency's minor unit (fen for
CNY); no float ever carries money. Every money operation takes an idempotency key (see
:func:`idempotency_key`): a retried step returns the first result and never posts twice.

Results are frozen dataclasses whose repr shows only masked numbers. Failures raise the
:class:`BankError` subclasses below; their messages never contain a PIN or a full card number.
A real core-banking host implements :class:`BankService`; ivr.bank.sqlite and
ivr.bank.postgres implement it on an embedded SQLite file or a shared PostgreSQL database.
"""
import abc
import datetime as _dt
from dataclasses import dataclass, field
from typing import Optional

from voiceboard.errors import VoiceBoardError


# --- errors ------------------------------------------------------------------------------

class BankError(VoiceBoardError):
    """Root of the bank service's failures."""


class NotFound(BankError):
    """No such card, account, quote or job for this caller."""


class WrongPin(BankError):
    """The PIN did not match; ``remaining_tries`` before the card locks."""

    def __init__(self, remaining_tries):
        super().__init__(f"wrong PIN, {remaining_tries} tries left")
        self.remaining_tries = remaining_tries


class CardLocked(BankError):
    """The card or account is locked (too many wrong PINs) or frozen (reported lost)."""

    def __init__(self, message, reason):
        super().__init__(message)
        self.reason = reason


class InsufficientFunds(BankError):
    """The source account cannot cover the amount."""


class OverDailyLimit(BankError):
    """The amount would take the account over its daily phone-banking limit."""

    def __init__(self, message, remaining):
        super().__init__(message)
        self.remaining = remaining


class StaleQuote(BankError):
    """The forex quote has expired; ask for a new one."""


class NotAllowed(BankError):
    """The operation is not offered for these accounts (for example loan to current)."""


class IdempotencyConflict(BankError):
    """The idempotency key was already used for a different request."""


class InvalidRequest(BankError, ValueError):
    """A malformed argument (amount, PIN format, channel); the message names the parameter."""


# --- results -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Session:
    """An identified caller. ``login`` is the masked card or account number used."""

    customer_id: int
    credential_id: int
    customer_kind: str          # "personal" or "corporate"
    language: str               # "zh" or "en"
    login: str


@dataclass(frozen=True)
class AccountBalance:
    """Balance of one account; ``balance`` in minor units, negative when the customer owes."""

    account_id: int
    number: str                 # masked
    kind: str
    currency: str
    balance: int
    available: int


@dataclass(frozen=True)
class CreditCardBalance(AccountBalance):
    credit_limit: int = 0
    due_amount: int = 0
    due_date: Optional[_dt.date] = None


@dataclass(frozen=True)
class LoanBalance(AccountBalance):
    principal_outstanding: int = 0
    next_instalment: int = 0
    next_instalment_date: Optional[_dt.date] = None


@dataclass(frozen=True)
class FixedDepositBalance(AccountBalance):
    rate_bp: int = 0
    maturity_date: Optional[_dt.date] = None


@dataclass(frozen=True)
class Transaction:
    posted_at: _dt.datetime
    amount: int                 # minor units, always positive
    direction: str              # "in" or "out"
    currency: str
    counterparty_type: str      # own_account, securities, forex, salary, merchant, ...


@dataclass(frozen=True)
class TransferResult:
    transfer_id: int
    from_account_id: int
    to_account_id: int
    amount: int                 # minor units leaving the source account
    credited: int               # minor units reaching the target (differs for forex)
    from_balance: int
    to_balance: int


@dataclass(frozen=True)
class StatementJob:
    job_id: str
    account_id: int
    channel: str                # "fax" or "email"
    status: str


@dataclass(frozen=True)
class ForexQuote:
    """CNY price of ``unit`` foreign units: ``buy``/``sell`` / 10**scale yuan.

    ``buy`` is the bank's buying price (customer sells foreign), ``sell`` its selling price.
    """

    quote_id: str
    currency: str
    unit: int
    scale: int
    buy: int
    sell: int
    expires_at: _dt.datetime


@dataclass(frozen=True)
class ForexRate:
    currency: str
    unit: int
    scale: int
    buy: int
    sell: int


@dataclass(frozen=True)
class InterestRate:
    product: str
    term_months: int
    rate_bp: int                # basis points per year: 145 = 1.45 %


@dataclass(frozen=True)
class Fee:
    service: str
    fixed: int                  # fen
    rate_bp: int
    minimum: int                # fen
    maximum: int                # fen


@dataclass(frozen=True)
class LostCardReport:
    reference: str
    card: str                   # masked


@dataclass(frozen=True)
class ComplaintCase:
    case_number: str


@dataclass(frozen=True)
class ReconcileReport:
    """Result of :meth:`BankService.reconcile`; ``ok`` when the books balance to the fen."""

    accounts: int
    transfers: int
    postings: int
    totals: dict                # currency -> sum of every balance (internal included): 0
    customer_totals: dict       # currency -> sum of customer balances
    mismatched_accounts: list = field(default_factory=list)    # balance != sum of postings
    unbalanced_transfers: list = field(default_factory=list)   # transfer ids not summing to 0

    @property
    def ok(self):
        return (not self.mismatched_accounts and not self.unbalanced_transfers
                and all(v == 0 for v in self.totals.values()))


def idempotency_key(call_id, step):
    """The idempotency key of one step of one call (e.g. ``"c0042:transfer-1"``)."""
    if not call_id or not step:
        raise InvalidRequest("idempotency key: call_id and step must not be empty")
    return f"{call_id}:{step}"


# --- the interface -----------------------------------------------------------------------

class BankService(abc.ABC):
    """What the phone-banking flows may ask of the bank.

    Methods taking a ``session`` act only on that customer's accounts: someone else's account
    id raises :class:`NotFound` exactly like a missing one.
    """

    # identification
    @abc.abstractmethod
    def identify(self, number, pin):
        """Return a :class:`Session` for a card or account number and its 6-digit PIN.

        Raises NotFound, WrongPin(remaining_tries), CardLocked; the last allowed wrong PIN locks.
        """

    @abc.abstractmethod
    def change_pin(self, session, old_pin, new_pin):
        """Change the PIN of the credential the session logged in with (old PIN checked)."""

    @abc.abstractmethod
    def report_lost_card(self, card_number, idem_key, session=None):
        """Freeze a card at once; returns a :class:`LostCardReport` with a reference number."""

    # enquiries
    @abc.abstractmethod
    def balances(self, session):
        """Every account of the customer as AccountBalance (or a kind-specific subclass)."""

    @abc.abstractmethod
    def balance(self, session, account_id):
        """One account's balance."""

    @abc.abstractmethod
    def recent_transactions(self, session, account_id, limit=5):
        """The newest ``limit`` :class:`Transaction` rows of an account, newest first."""

    @abc.abstractmethod
    def request_statement(self, session, account_id, channel, destination, start, end,
                          idem_key):
        """Queue a statement by ``"fax"`` or ``"email"``; returns a :class:`StatementJob`."""

    # money
    @abc.abstractmethod
    def transfer(self, session, from_account_id, to_account_id, amount, idem_key):
        """Move ``amount`` between the caller's own accounts in one transaction.

        Allowed: current <-> fixed deposit, current -> credit card (repayment),
        current <-> securities fund (bank <-> securities transfer), same currency.
        """

    @abc.abstractmethod
    def securities_balance(self, session):
        """The securities fund account balances of the caller."""

    @abc.abstractmethod
    def forex_quote(self, currency):
        """A :class:`ForexQuote` for CNY against ``currency``, valid until ``expires_at``."""

    @abc.abstractmethod
    def forex_trade(self, session, quote_id, from_account_id, to_account_id, amount,
                    idem_key):
        """Exchange ``amount`` (source currency) at the quoted rate; StaleQuote when expired."""

    # public tables (no login)
    @abc.abstractmethod
    def interest_rates(self):
        """The deposit and loan rate table."""

    @abc.abstractmethod
    def exchange_rates(self):
        """The board rates of every quoted currency."""

    @abc.abstractmethod
    def fees(self):
        """The fee table."""

    # service requests
    @abc.abstractmethod
    def file_complaint(self, recording_path, idem_key, session=None, caller_number=None):
        """Open a complaint case for a recorded message; returns a :class:`ComplaintCase`."""

    # administration
    @abc.abstractmethod
    def unlock(self, number):
        """Clear the wrong-PIN lock of a card or account (not a lost-card freeze)."""

    @abc.abstractmethod
    def reconcile(self):
        """Check the books; returns a :class:`ReconcileReport`."""

    def close(self):
        """Release the connection."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
