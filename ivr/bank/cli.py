"""Administration of the bank store: ``python -m ivr.bank [--db URL] COMMAND``.

Commands: ``init`` (create the store and apply migrations), ``seed`` (demo data),
``reconcile`` (check that the books balance; exit status 1 when they do not) and
``unlock-card NUMBER`` (clear a wrong-PIN lock). The store is ``--db``, else $IVR_BANK_URL,
else ./bank.db. :func:`add_commands` lets a larger CLI mount these as ``ivr bank ...``.
"""
import argparse
import os
import sys

from . import open_bank, security
from .seed import DEFAULT_SEED, demo_plan, seed
from .service import BankError

DEFAULT_URL = "bank.db"


def _open(args):
    options = {}
    if args.scrypt_n is not None:
        options["pin_cost"] = security.PinCost(n=args.scrypt_n)
    return open_bank(args.db or os.environ.get("IVR_BANK_URL") or DEFAULT_URL, **options)


def cmd_init(args, out):
    with _open(args) as bank:
        out.write(f"bank store ready, schema version {bank.schema_version()}\n")
    return 0


def cmd_seed(args, out):
    with _open(args) as bank:
        plan = demo_plan(args.seed)
        seed(bank, plan)
        report = bank.reconcile()
    out.write(f"seeded {len(plan)} demo customers (seed {args.seed}), "
              f"{report.accounts} accounts, {report.transfers} journal transfers\n")
    return 0


def cmd_reconcile(args, out):
    with _open(args) as bank:
        r = bank.reconcile()
    out.write(f"accounts {r.accounts}, transfers {r.transfers}, postings {r.postings}\n")
    for cur, total in sorted(r.customer_totals.items()):
        out.write(f"{cur}: customer balances {total}, books total {r.totals.get(cur, 0)}\n")
    for account_id, balance, posted in r.mismatched_accounts:
        out.write(f"MISMATCH account {account_id}: balance {balance}, postings {posted}\n")
    for transfer_id in r.unbalanced_transfers:
        out.write(f"UNBALANCED transfer {transfer_id}\n")
    out.write("books balance\n" if r.ok else "BOOKS DO NOT BALANCE\n")
    return 0 if r.ok else 1


def cmd_unlock(args, out):
    with _open(args) as bank:
        bank.unlock(args.number)
    out.write(f"unlocked {security.mask_number(args.number)}\n")
    return 0


def add_commands(subparsers):
    """Add the bank commands to an argparse sub-parser set (``ivr bank`` later)."""
    p = subparsers.add_parser("init", help="create the store and apply schema migrations")
    p.set_defaults(func=cmd_init)
    p = subparsers.add_parser("seed", help="load the deterministic demo customers")
    p.add_argument("--seed", type=int, default=DEFAULT_SEED, help="RNG seed of the demo data")
    p.set_defaults(func=cmd_seed)
    p = subparsers.add_parser("reconcile", help="check that the books balance to the fen")
    p.set_defaults(func=cmd_reconcile)
    p = subparsers.add_parser("unlock-card", help="clear the wrong-PIN lock of a card/account")
    p.add_argument("number", help="card or account number")
    p.set_defaults(func=cmd_unlock)


def build_parser(prog="python -m ivr.bank"):
    parser = argparse.ArgumentParser(prog=prog, description=__doc__.split("\n")[0])
    parser.add_argument("--db", help="store URL: path, sqlite:///path or postgresql://...")
    parser.add_argument("--scrypt-n", type=int, default=None,
                        help="scrypt cost for PINs hashed now (default 2**14; lower only in tests)")
    add_commands(parser.add_subparsers(dest="command", required=True, metavar="COMMAND"))
    return parser


def main(argv=None, out=None):
    out = out or sys.stdout
    args = build_parser().parse_args(argv)
    try:
        return args.func(args, out)
    except (BankError, ValueError, OSError) as exc:
        sys.stderr.write(f"ivr.bank {args.command}: {exc}\n")
        return 2
    except Exception as exc:   # database driver errors (sqlite3, psycopg) keep to one line
        sys.stderr.write(f"ivr.bank {args.command}: {type(exc).__name__}: {exc}\n")
        return 2
