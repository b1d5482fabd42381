"""What the platform's books read of the ledger's database (`farthing.services.books.BooksSource` in SQL):
accounts with their posted balances, wallets' owners and their kinds, and the transfers in commit order,
streamed."""

from __future__ import annotations

from collections.abc import Iterator

from farthing.adapters.platform_db import PlatformDb
from farthing.adapters.rows import int16


class BooksTable:
    def __init__(self, db: PlatformDb) -> None:
        self.db = db

    def accounts(self) -> dict[int, tuple[int, int, int, int]]:
        """Account → (ledger, code, debits posted, credits posted), as the engine keeps them."""
        f = self.db.from_u128
        return {int16(bytes(a)): (int(ledger), int(code), f(dpo), f(cpo)) for a, ledger, code, dpo, cpo in
                self.db.query("SELECT id, ledger, code, debits_posted, credits_posted FROM accounts")}  # fmt: skip

    def owners(self) -> dict[int, tuple[str, str]]:
        """Wallet account → (party, its mode)."""
        rows = self.db.query(
            "SELECT w.account_id, w.party_id, p.mode FROM wallets w JOIN parties p ON p.id = w.party_id"
        )
        return {int16(bytes(a)): (str(p), str(m)) for a, p, m in rows}

    def transfers(self, upto_ms: int | None) -> Iterator[tuple[int, int, int, int, int, int, int]]:
        """(debit, credit, amount, ledger, code, flags, timestamp) of every transfer, in commit order."""
        f = self.db.from_u128
        where, params = ("WHERE timestamp_ms < ?", (upto_ms,)) if upto_ms is not None else ("", ())
        for d, c, amount, ledger, code, flags, ts in self.db.stream(
            "SELECT debit_account_id, credit_account_id, amount, ledger, code, flags, timestamp_ms FROM transfers "
            f"{where} ORDER BY seq",
            params,
        ):
            yield int16(bytes(d)), int16(bytes(c)), f(amount), int(ledger), int(code), int(flags), int(ts)
