"""In-memory fakes of the policy's own rows (overrides with their epoch, SCA epochs, tax bases) and of
the answers kept for Idempotency-Keys."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from farthing.domain.tax_base import TaxBase


class FakeOverrideRows:
    def __init__(self) -> None:
        self.rows: dict[tuple[str, str], tuple[str, int]] = {}
        self.n = 0
        self.reads = 0

    def get(self, merchant: str, currency: str) -> tuple[str, int] | None:
        self.reads += 1
        return self.rows.get((merchant, currency))

    def epoch(self) -> int:
        return self.n

    def put(self, merchant: str, currency: str, source: str, version: str, now_ms: int) -> None:
        self.rows[(merchant, currency)] = (source, now_ms)
        self.n += 1

    def drop(self, merchant: str, currency: str) -> bool:
        self.n += 1
        return self.rows.pop((merchant, currency), None) is not None


class FakeScaEpochs:
    def __init__(self) -> None:
        self.rows: dict[str, int] = {}

    def epoch(self, payer: str) -> str | None:
        return str(self.rows[payer]) if payer in self.rows else None

    def bump(self, payer: str, now_ms: int) -> str:
        self.rows[payer] = self.rows.get(payer, 0) + 1
        return str(self.rows[payer])


class FakeTaxBases:
    def __init__(self) -> None:
        self.rows: dict[int, TaxBase] = {}

    def add(self, base: TaxBase) -> None:
        self.rows.setdefault(base.account_id, base)

    def of_merchant(self, merchant: str, place: str, period: str, currency: str) -> list[TaxBase]:
        wanted = (merchant, place, period, currency)
        return [b for b in self.rows.values() if (b.merchant, b.place, b.period, b.currency) == wanted]

    def of_period(self, period: str) -> list[TaxBase]:
        return sorted((b for b in self.rows.values() if b.period == period),
                      key=lambda b: (b.merchant, b.place, b.rate_ppm))  # fmt: skip

    def close(self, account_id: int, now_ms: int) -> None:
        if self.rows[account_id].closed_ms is None:
            self.rows[account_id] = dataclasses.replace(self.rows[account_id], closed_ms=now_ms)


class FakeAnswers:
    """First answers by (owner, key), as `farthing.adapters.answers_sql` keeps them."""

    def __init__(self) -> None:
        self.rows: dict[tuple[str, str], tuple[bytes, int, dict[str, Any], int]] = {}

    def find(self, owner: str, key: str, since_ms: int) -> tuple[bytes, int, dict[str, Any]] | None:
        found = self.rows.get((owner, key))
        return found[:3] if found is not None and found[3] >= since_ms else None

    def keep(
        self, owner: str, key: str, route: str, digest: bytes, status: int, body: dict[str, Any], now_ms: int
    ) -> None:
        self.rows[(owner, key)] = (digest, status, json.loads(json.dumps(body)), now_ms)

    def forget_before(self, ms: int) -> None:
        self.rows = {k: v for k, v in self.rows.items() if v[3] >= ms}
