"""`farthing demo`: a small platform's day on a real ledger, then its balances and the audit.

Creates a platform (funding and fee accounts), payers with prepaid wallets and merchants; tops the
wallets up; runs thousands of micropayments from several threads at once (each a payment and its
platform fee, linked so that both or neither apply); places a hold and captures part of it.
"""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass

from farthing.domain.ledger_types import Account, AccountFlags, AccountState, Transfer, TransferFlags
from farthing.domain.money import Currency, allocate, currency
from farthing.engine.committer import GroupCommitter
from farthing.engine.ids import new_id
from farthing.errors import TransferResult

FUNDING, FEES = 1, 2
PAYER_BASE, MERCHANT_BASE = 1_000, 2_000
FEE_PPM = 20_000  # the platform keeps 2 % of each payment
PRICES = ("0.001", "0.0025", "0.01", "0.05", "0.25")
CODE_TOPUP, CODE_PAYMENT, CODE_FEE, CODE_HOLD = 1, 2, 3, 4


@dataclass
class DemoResult:
    currency: Currency
    accounts: list[AccountState]
    payments_ok: int
    payments_refused: int
    seconds: float


def _accounts(cur: Currency, payers: int, merchants: int) -> list[Account]:
    wallet = int(AccountFlags.debits_must_not_exceed_credits)
    out = [Account(FUNDING, cur.ledger, 1), Account(FEES, cur.ledger, 2, flags=wallet)]
    out += [Account(PAYER_BASE + i, cur.ledger, 10, flags=wallet) for i in range(payers)]
    out += [Account(MERCHANT_BASE + i, cur.ledger, 20, flags=wallet) for i in range(merchants)]
    return out


def _payment(cur: Currency, rng: random.Random, payers: int, merchants: int) -> list[Transfer]:
    """A payment and its fee leg, linked: the merchant receives the price and pays the fee."""
    price = cur.parse(rng.choice(PRICES))  # every price is large enough to carry a fee of 1 unit or more
    fee, _net = allocate(price, [FEE_PPM, 1_000_000 - FEE_PPM])
    payer = PAYER_BASE + rng.randrange(payers)
    merchant = MERCHANT_BASE + rng.randrange(merchants)
    return [
        Transfer(new_id(), payer, merchant, price, cur.ledger, CODE_PAYMENT, flags=int(TransferFlags.linked)),
        Transfer(new_id(), merchant, FEES, fee, cur.ledger, CODE_FEE),
    ]


def run_demo(
    ledger: GroupCommitter,
    payments: int = 5_000,
    payers: int = 50,
    merchants: int = 5,
    threads: int = 4,
    seed: int = 7,
) -> DemoResult:
    cur = currency("USD")
    ledger.create_accounts(_accounts(cur, payers, merchants))
    topup = cur.parse("5.00")
    ledger.create_transfers(
        [Transfer(new_id(), FUNDING, PAYER_BASE + i, topup, cur.ledger, CODE_TOPUP) for i in range(payers)]
    )
    counts = {"ok": 0, "refused": 0}
    lock = threading.Lock()

    def worker(n: int, wseed: int) -> None:
        rng = random.Random(wseed)
        for done in range(0, n, 100):
            batch = [leg for _ in range(min(100, n - done)) for leg in _payment(cur, rng, payers, merchants)]
            results = ledger.create_transfers(batch)
            ok = sum(
                1 for t, r in zip(batch, results, strict=True) if t.code == CODE_PAYMENT and r is TransferResult.ok
            )
            with lock:
                counts["ok"] += ok
                counts["refused"] += sum(1 for t in batch if t.code == CODE_PAYMENT) - ok

    started = time.perf_counter()
    per = payments // threads
    pool = [threading.Thread(target=worker, args=(per, seed + i)) for i in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    hold = Transfer(new_id(), PAYER_BASE, MERCHANT_BASE, cur.parse("1.00"), cur.ledger, CODE_HOLD,
                    flags=int(TransferFlags.pending), timeout_s=3600)  # fmt: skip
    ledger.create_transfers([hold])
    capture = Transfer(
        new_id(), 0, 0, cur.parse("0.40"), 0, 0, flags=int(TransferFlags.post_pending), pending_id=hold.id
    )
    ledger.create_transfers([capture])
    elapsed = time.perf_counter() - started
    return DemoResult(cur, ledger.accounts(), counts["ok"], counts["refused"], elapsed)
