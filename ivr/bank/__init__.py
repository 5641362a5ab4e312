"""The bank service behind the phone-banking flows (see docs/bank.md).

``open_bank(url)`` opens the store: a path or ``sqlite:///path`` for the embedded SQLite
file, ``postgresql://...`` for a PostgreSQL database shared by several ivrd nodes.
"""
from .service import (
    AccountBalance, BankError, BankService, CardLocked, ComplaintCase, CreditCardBalance, Fee,
    FixedDepositBalance, ForexQuote, ForexRate, IdempotencyConflict, InsufficientFunds,
    InterestRate, InvalidRequest, LoanBalance, LostCardReport, NotAllowed, NotFound,
    OverDailyLimit, ReconcileReport, Session, StaleQuote, StatementJob, Transaction,
    TransferResult, WrongPin, idempotency_key,
)

__all__ = [
    "AccountBalance", "BankError", "BankService", "CardLocked", "ComplaintCase",
    "CreditCardBalance", "Fee", "FixedDepositBalance", "ForexQuote", "ForexRate",
    "IdempotencyConflict", "InsufficientFunds", "InterestRate", "InvalidRequest", "LoanBalance",
    "LostCardReport", "NotAllowed", "NotFound", "OverDailyLimit", "ReconcileReport", "Session",
    "StaleQuote", "StatementJob", "Transaction", "TransferResult", "WrongPin",
    "idempotency_key", "open_bank",
]


def open_bank(url, **options):
    """Open the bank store at ``url``; ``options`` go to the service (pin_cost, clock, ...)."""
    if url.startswith(("postgresql://", "postgres://")):
        from .postgres import PostgresBankService
        return PostgresBankService(url, **options)
    from .sqlite import SqliteBankService
    if url.startswith("sqlite://"):
        url = url[len("sqlite://"):]
    if not url:
        raise InvalidRequest("bank URL: empty path")
    return SqliteBankService(url, **options)
