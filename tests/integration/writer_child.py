"""Child of the multi-process test: one engine process paying a shared hot account.

Usage: python writer_child.py DATABASE_URL WORKER_NO OUT_FILE
Writes one line per transfer id with its result, so the parent can count what each process saw.
"""

from __future__ import annotations

import sys

from farthing.domain.ledger_types import Account, Transfer
from farthing.errors import AccountResult
from farthing.services.ledger import open_ledger

L = 840
HOT = 100


def main(url: str, worker: int, out_path: str) -> None:
    lg = open_ledger(url, wait_ms=1.0)
    try:
        assert set(lg.create_accounts([Account(1, L, 1), Account(HOT, L, 1)])) <= {
            AccountResult.ok,
            AccountResult.exists,
        }
        lines = []
        for b in range(60):
            own = [Transfer(1_000_000 * (worker + 1) + b * 10 + k, 1, HOT, 1 + k, L, 1) for k in range(10)]
            shared = [Transfer(500_000 + b * 5 + k, 1, HOT, 1_000, L, 1) for k in range(5)]  # both send these
            batch = own + shared if worker % 2 else shared + own
            results = lg.create_transfers(batch)
            lines += [f"{t.id} {r.name}\n" for t, r in zip(batch, results, strict=True)]
        with open(out_path, "w", encoding="ascii") as out:
            out.writelines(lines)
    finally:
        lg.close()


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), sys.argv[3])
