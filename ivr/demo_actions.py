"""The demo backend of flows/sample.yaml: its three actions as small real functions over an
in-memory table of accounts, so ``ivrd --demo`` and the load run execute the flow end to end
without a bank service. Importing the module registers them (route option
``actions: ivr.demo_actions``); the real phone-banking flow uses ivr/bank/actions.py instead.

Accounts: every card number that passes the flow's Luhn check has an account; its PIN is the
card's last six digits and its balance is derived from the card number, so a walk table can
know which PIN opens which card. Nothing here is persisted.
"""
from ivr import actions

ACCOUNTS = {
    # card -> (PIN, balance in fen); the sample walks use this card (a Luhn-valid test number)
    "4111111111111111": ("111111", 1234567),
}
HANGUPS = []                # (channel, where) of calls the flow saw end by the caller hanging up
MAX_HANGUPS = 1000          # the list is a short window for inspection, not a log


def _account(card):
    found = ACCOUNTS.get(card)
    if found is None:
        found = (card[-6:], int(card[-7:]) % 10_000_000)
        ACCOUNTS[card] = found
    return found


@actions.register("bank.check_pin")
def check_pin(ctx, card, pin):
    """{"outcome": "ok", "ok": bool}: whether ``pin`` opens ``card``."""
    return {"outcome": "ok", "ok": _account(str(card))[0] == str(pin)}


@actions.register("bank.balance")
def balance(ctx, card):
    """{"outcome": "ok", "balance_fen": int}: the card's balance in fen."""
    return {"outcome": "ok", "balance_fen": _account(str(card))[1]}


@actions.register("log.hangup")
def log_hangup(ctx, where):
    """Note where a caller hung up; outcome "ok"."""
    HANGUPS.append((ctx.channel, str(where)))
    del HANGUPS[:-MAX_HANGUPS]
    return "ok"
