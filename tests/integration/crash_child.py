"""Child of the crash test: commits random payments from three threads until it is killed.

After each acknowledged batch it appends the acknowledged transfers to the ack file. On start it
re-submits the last acknowledged batch of its previous life, which must answer `exists` for all.
Usage: python crash_child.py DATABASE_URL ACK_FILE SEED
"""

from __future__ import annotations

import random
import sys
import threading

from farthing.domain.ledger_types import Account, AccountFlags, Transfer
from farthing.engine.ids import new_id
from farthing.errors import AccountResult, TransferResult
from farthing.services.ledger import open_ledger

L = 840
WALLETS = range(2, 12)


def main(url: str, ack_path: str, seed: int) -> None:
    lg = open_ledger(url, wait_ms=1.0)
    wallet = int(AccountFlags.debits_must_not_exceed_credits)
    accounts = [Account(1, L, 1)] + [Account(i, L, 1, flags=wallet) for i in WALLETS]
    assert set(lg.create_accounts(accounts)) <= {AccountResult.ok, AccountResult.exists}
    funding = [Transfer(i, 1, i, 10**9, L, 1) for i in WALLETS]
    assert set(lg.create_transfers(funding)) <= {TransferResult.ok, TransferResult.exists}
    lock = threading.Lock()
    with open(ack_path, "a+", encoding="ascii") as ack:
        ack.seek(0)
        text = ack.read()
        if text and not text.endswith("\n"):  # the kill cut a line short: mark it so nobody reads it as whole
            ack.write(" CUT\n")
        whole = [line.split() for line in text.splitlines(keepends=True) if line.endswith("\n")]
        lines = [parts for parts in whole if len(parts) == 4 and not parts[0].startswith("#")]
        last = [Transfer(int(i, 16), int(d), int(c), int(a), L, 1) for i, d, c, a in lines[-20:]]
        if last:
            again = lg.create_transfers(last)
            if any(r is not TransferResult.exists for r in again):
                ack.write(f"# RESUBMIT-NOT-EXISTS {again}\n")
                ack.flush()

        def pay(tseed: int) -> None:
            rng = random.Random(tseed)
            while True:
                batch = []
                for _ in range(rng.randint(1, 40)):
                    dr, cr = rng.sample(list(WALLETS), 2)
                    batch.append(Transfer(new_id(), dr, cr, rng.randint(1, 5_000), L, 1))
                results = lg.create_transfers(batch)
                done = [t for t, r in zip(batch, results, strict=True) if r is TransferResult.ok]
                with lock:
                    ack.write(
                        "".join(f"{t.id:x} {t.debit_account_id} {t.credit_account_id} {t.amount}\n" for t in done)
                    )
                    ack.flush()

        threads = [threading.Thread(target=pay, args=(seed * 10 + k,), daemon=True) for k in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
