"""The demo's callers walking the phone-banking flow, in virtual time.

ivrd runs the demo configuration (one emulated E1 span, flows/banking.yaml, the bank actions on
a store seeded by ivr.config.demo_bank); the callers of ivr/loadsim.py dial in by MFC-R2 and
press keys as DTMF audio along flows/banking_walk.yaml, each walk of the table on its own
ports, call after call. The call records must say exactly the keys each walk pressed, every
walk must reach the end it was written for, every barge-in must stop its prompt, no card
number or PIN may reach a record or a log line, and the money moved must add up to the fen.
"""
import asyncio
import dataclasses
import logging
import os
import signal

import pytest

import ivr.bank.actions as bank_actions
from ivr import cdr, config, daemon, loadsim
from ivr.bank import open_bank
from test_bank_service import TEST_COST
from voiceboard import clock

PORTS_PER_WALK = 2
CALLING_S = 150.0           # virtual seconds callers start calls: two or more calls per port
PAUSE = (1.0, 2.0)          # seconds between two calls of one caller
# Nodes each walk must pass (flows/banking.yaml): the function it was written for was reached.
MUST_PASS = {
    "balance": ["login_pin", "do_login", "bal_current", "say_balance", "account_menu"],
    "housing fund": ["do_login", "bal_fund", "say_balance", "account_menu"],
    "english transactions": ["to_english", "do_login", "set_corporate", "get_tx", "tx_end", "account_menu"],
    "rates": ["get_rates", "say_rate_loan", "get_board_rate", "say_board_buy", "get_fees"],
    "transfer to fixed": ["t_to_fixed", "do_transfer", "transfer_done", "say_new_balance", "account_menu"],
    "transfer from fixed": ["t_from_fixed", "do_transfer", "transfer_done", "say_new_balance", "account_menu"],
}
TRANSFER_CARD, TRANSFER_PIN = "6222029400949291341", "653554"   # banking_walk.yaml's transfers
TRANSFER_FEN = 100                                              # "1#": ¥1.00


@pytest.fixture
def demo_store(tmp_path):
    path = config.demo_bank(str(tmp_path), pin_cost=TEST_COST)
    bank = open_bank(path, pin_cost=TEST_COST)
    bank_actions.use(bank)
    yield bank
    bank_actions.use(None)
    bank.close()


def cny(bank, card, pin):
    """Balances in fen of the customer's CNY accounts, by kind."""
    return {b.kind: b.balance for b in bank.balances(bank.identify(card, pin)) if b.currency == "CNY"}


def run_walks(tmp_path, table):
    """The demo daemon with PORTS_PER_WALK callers per walk; returns (exit status, stats, walk
    of each port)."""
    cfg = config.demo(str(tmp_path))
    # The daemon's own callers pick walks at random; here each port keeps one walk. The bank
    # is demo_store's (its low PIN cost): the daemon leaves the actions' bank alone.
    cfg = dataclasses.replace(cfg, bank=None,
                              boards=tuple(dataclasses.replace(b, simulate=None) for b in cfg.boards))
    d = daemon.Daemon(cfg)
    stats = loadsim.Stats()
    walk_of = [w for w in table.walks for _ in range(PORTS_PER_WALK)]

    async def main():
        run = asyncio.ensure_future(d.run())
        while "e1" not in d.boards:
            await asyncio.sleep(0.02)
        exchange = d.boards["e1"].exchange
        ear = loadsim.Ear(exchange)
        callers = [asyncio.ensure_future(loadsim.caller(exchange, ear, port, dataclasses.replace(table, walks=(w,)),
                                                        stats, PAUSE, seed=3))
                   for port, w in enumerate(walk_of)]
        await asyncio.sleep(CALLING_S)
        stats.finishing = True              # no new calls; the ones in progress walk to their end
        await asyncio.wait_for(asyncio.gather(*callers), 300)
        d._record_signal(signal.SIGINT)
        return await run

    return clock.run(main()), stats, walk_of


def test_every_banking_walk_completes_with_exactly_its_keys_and_no_secret_leaks(tmp_path, demo_store, caplog):
    caplog.set_level(logging.DEBUG)
    bank = demo_store
    before = cny(bank, TRANSFER_CARD, TRANSFER_PIN)
    table = loadsim.load_walks(config.DEMO_WALKS)
    assert {w.name for w in table.walks} == set(MUST_PASS)

    status, stats, walk_of = run_walks(tmp_path, table)

    assert status == daemon.EXIT_OK
    s = stats.as_dict()
    assert not s["lost"] and s["completed"] == s["calls"] and s["active"] == 0
    rows = cdr.read(str(tmp_path / "cdr.sqlite"))
    assert len(rows) == s["completed"]
    done = {w.name: 0 for w in table.walks}
    for port, walk in enumerate(walk_of):
        records = [r for r in rows if r["channel"] == port]
        # The n-th record of a channel is its n-th call: no key missed or extra, in any call.
        assert [r["keys"] for r in records] == s["expected_keys"][str(port)]
        assert len(records) >= 2, (port, walk.name)
        for r in records:
            assert r["outcome"] == "caller_hangup" and r["dnis"] == table.dnis, (r["outcome"], r["error"])
            assert r["keys"] == walk.reported
            path = r["node_path"]
            assert all(node in path for node in MUST_PASS[walk.name]), (walk.name, path)
            assert "agent" not in path and "sorry" not in path and "pin_wrong" not in path
        done[walk.name] += len(records)

    # Each barge-in stopped its prompt, and every other key waited for its prompt's end: only
    # the barge-in steps were timed, once per call (a key pressed into a playing menu because
    # its prompt outlasted loadsim's 30 s step timeout would be timed too).
    barge_ins = {f"{w.name}/{i + 1}": done[w.name] for w in table.walks
                 for i, step in enumerate(w.steps) if step.at != "end"}
    assert {k: v[2] for k, v in s["latency_by_step_ms"].items()} == barge_ins
    assert s["latency_p99_ms"] < 200      # the receiver's detection plus a few 20 ms ticks

    # The money: ¥1.00 each way per transfer call, the books balanced.
    moved = TRANSFER_FEN * (done["transfer to fixed"] - done["transfer from fixed"])
    after = cny(bank, TRANSFER_CARD, TRANSFER_PIN)
    assert after["current"] == before["current"] - moved and after["fixed"] == before["fixed"] + moved
    assert bank.reconcile().ok

    # Card numbers and PINs (the masked entries of the walks) in no record and no log line.
    secrets = {step.keys.rstrip("#") for w in table.walks for step in w.steps if set(step.reported) == {"*"}}
    assert len(secrets) == 8
    logged = [rec.getMessage() for rec in caplog.records]
    assert "step do_login" in logged                # the daemon's DEBUG lines were captured
    texts = [repr(r) for r in rows] + logged
    assert not [t for t in texts for secret in secrets if secret in t]


def test_demo_bank_replaces_an_earlier_store(tmp_path):
    path = config.demo_bank(str(tmp_path), pin_cost=TEST_COST)
    with open_bank(path, pin_cost=TEST_COST) as bank:
        seeded = cny(bank, TRANSFER_CARD, TRANSFER_PIN)
        session = bank.identify(TRANSFER_CARD, TRANSFER_PIN)
        accounts = {b.kind: b.account_id for b in bank.balances(session) if b.currency == "CNY"}
        bank.transfer(session, accounts["current"], accounts["fixed"], 12345, "earlier-run:1")
    with open(path + "-wal", "wb") as f:       # a side file a killed run may leave behind
        f.write(b"not a WAL file")
    assert config.demo_bank(str(tmp_path), pin_cost=TEST_COST) == path == os.path.join(str(tmp_path), "bank.db")
    with open_bank(path, pin_cost=TEST_COST) as bank:
        assert cny(bank, TRANSFER_CARD, TRANSFER_PIN) == seeded
        assert bank.reconcile().ok
