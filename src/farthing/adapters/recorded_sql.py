"""What a policy replay reads of the ledger's database: wallets' owners, payers' profiles, and payments'
transfers in the order they were made (`farthing.services.replay.RecordedSource` in SQL)."""

from __future__ import annotations

from collections.abc import Iterator

from farthing.adapters.platform_db import PlatformDb
from farthing.adapters.rows import int16
from farthing.domain.chart import T_PAYMENT, T_PLATFORM_FEE


class RecordedTable:
    def __init__(self, db: PlatformDb) -> None:
        self.db = db

    def owners(self) -> dict[int, str]:
        return {int16(bytes(a)): str(p) for a, p in self.db.query("SELECT account_id, party_id FROM wallets")}

    def profiles(self) -> dict[str, tuple[str | None, str | None]]:
        return {str(p): (c, a) for p, c, a in self.db.query("SELECT id, country, age_band FROM parties")}

    def payment_transfers(self, since_ms: int) -> Iterator[tuple[int, int, int, int, int, int]]:
        """(debit account, amount, ledger, code, flags, timestamp) of payments and their fees, in order,
        streamed (the shared connection stays free)."""
        f = self.db.from_u128
        for debit, amount, ledger, code, flags, ts in self.db.stream(
            "SELECT debit_account_id, amount, ledger, code, flags, timestamp_ms FROM transfers "
            f"WHERE code IN ({T_PAYMENT}, {T_PLATFORM_FEE}) AND timestamp_ms >= ? ORDER BY seq",
            (since_ms,),
        ):
            yield f(debit), f(amount), int(ledger), int(code), int(flags), int(ts)
