"""The risk engine's tables (`risk_reviews`, `risk_labels`): `farthing.services.risk_labels.RiskRepository`."""

from __future__ import annotations

import json
from typing import Any

from farthing.adapters.platform_db import PlatformDb
from farthing.domain.chart import T_PAYMENT
from farthing.domain.risk.records import Label, Review

_REVIEW = "payment, customer, merchant, currency, mode, amount, score, outcome, reasons, features, created_ms"
_LABEL = "payment, currency, mode, amount, paid, fraud, source, note, paid_ms, labelled_ms, labelled_by"


def _review(r: tuple[Any, ...]) -> Review:
    reasons = tuple((str(rule), str(says)) for rule, says in json.loads(r[8]))
    return Review(r[0], r[1], r[2], r[3], r[4], int(r[5]), int(r[6]), r[7], reasons, json.loads(r[9]), int(r[10]))


def _label(r: tuple[Any, ...]) -> Label:
    return Label(r[0], r[1], r[2], int(r[3]), bool(r[4]), bool(r[5]), r[6], r[7], int(r[8]), int(r[9]), r[10])


class RiskTable:
    def __init__(self, db: PlatformDb) -> None:
        self.db = db

    def add_review(self, r: Review) -> None:
        self.db.query(
            f"INSERT INTO risk_reviews ({_REVIEW}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (payment) DO NOTHING",
            (
                r.payment,
                r.customer,
                r.merchant,
                r.currency,
                r.mode,
                r.amount,
                r.score,
                r.outcome,
                json.dumps([list(x) for x in r.reasons]),
                json.dumps(r.features),
                r.created_ms,
            ),
        )

    def review(self, payment: str) -> Review | None:
        rows = self.db.query(f"SELECT {_REVIEW} FROM risk_reviews WHERE payment = ?", (payment,))
        return _review(rows[0]) if rows else None

    def reviews(self, mode: str, limit: int) -> list[tuple[Review, Label | None]]:
        """The newest reviews of a mode, each with its label if it has one."""
        rows = self.db.query(
            f"SELECT {', '.join('r.' + c for c in _REVIEW.split(', '))}, "
            f"{', '.join('l.' + c for c in _LABEL.split(', '))} FROM risk_reviews r "
            "LEFT JOIN risk_labels l ON l.payment = r.payment WHERE r.mode = ? ORDER BY r.created_ms DESC LIMIT ?",
            (mode, limit),
        )
        return [(_review(r[:11]), _label(r[11:]) if r[11] is not None else None) for r in rows]

    def add_label(self, label: Label) -> bool:
        """Keep the label; False when the payment had one already (it is never changed)."""
        rows = self.db.query(
            f"INSERT INTO risk_labels ({_LABEL}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (payment) DO NOTHING RETURNING payment",
            (
                label.payment,
                label.currency,
                label.mode,
                label.amount,
                label.paid,
                label.fraud,
                label.source,
                label.note,
                label.paid_ms,
                label.labelled_ms,
                label.labelled_by,
            ),
        )
        return bool(rows)

    def label(self, payment: str) -> Label | None:
        rows = self.db.query(f"SELECT {_LABEL} FROM risk_labels WHERE payment = ?", (payment,))
        return _label(rows[0]) if rows else None

    def fraud_paid(self, currency: str, mode: str, since_ms: int) -> int:
        """What the payments labelled fraud that were made since `since_ms` paid, summed exactly."""
        rows = self.db.query(
            "SELECT amount FROM risk_labels WHERE currency = ? AND mode = ? AND paid_ms >= ? AND fraud = ? "
            "AND paid = ?",
            (currency, mode, since_ms, True, True),
        )
        return sum(int(r[0]) for r in rows)

    def paid_volume(self, currency: str, mode: str, since_day: int) -> int:
        """What merchants of the mode were paid in the currency since the day (UTC days since 1970), from the
        history's daily totals: a row per merchant and day, whatever the number of payments."""
        rows = self.db.query(
            "SELECT d.amount FROM daily_totals d JOIN wallets w ON w.account_id = d.account_id "
            "JOIN parties p ON p.id = w.party_id "
            "WHERE w.currency = ? AND p.mode = ? AND p.kind = 'merchant' AND d.code = ? AND d.day >= ?",
            (currency, mode, T_PAYMENT, since_day),
        )
        return sum(self.db.from_u128(r[0]) for r in rows)
