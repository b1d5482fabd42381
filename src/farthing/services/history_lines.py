"""A wallet's lines as the history answers them: a page and its filters (the lines themselves:
`farthing.domain.statement`)."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass

from farthing.domain.balances import Move
from farthing.domain.chart import T_ADDED_TAX, T_ADDED_TAX_REFUND, T_PAYMENT, T_PLATFORM_FEE, T_REFUND
from farthing.domain.ledger_types import Transfer
from farthing.domain.statement import TYPES, Entry
from farthing.errors import ErrorCode, PlatformError
from farthing.services.accounts import public_id_of


@dataclass(frozen=True, slots=True)
class Page:
    entries: list[Entry]
    has_more: bool
    next_page: str | None


@dataclass(frozen=True, slots=True)
class Filters:
    types: tuple[str, ...] = ()
    reference: str | None = None
    created_gte_ms: int | None = None
    created_lte_ms: int | None = None

    def token(self, before_seq: int) -> str:
        body = {"before": before_seq, "types": list(self.types), "reference": self.reference,
                "gte": self.created_gte_ms, "lte": self.created_lte_ms}  # fmt: skip
        return base64.urlsafe_b64encode(json.dumps(body, separators=(",", ":")).encode()).decode().rstrip("=")

    @staticmethod
    def from_token(token: str) -> tuple[Filters, int]:
        """The filters and position a `next_page` token carries; a token not made here is refused."""
        try:
            body = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
            types = tuple(body["types"])
            before = body["before"]
            if type(before) is not int or not all(t in TYPES for t in types):
                raise ValueError
            for k in ("gte", "lte"):
                if body[k] is not None and type(body[k]) is not int:
                    raise ValueError
            if body["reference"] is not None and type(body["reference"]) is not str:
                raise ValueError
            return Filters(types, body["reference"], body["gte"], body["lte"]), before
        except (ValueError, KeyError, TypeError, binascii.Error, UnicodeDecodeError):
            raise PlatformError(ErrorCode.page_invalid, "this page token was not made by this API") from None


def payment_of(t: Transfer, m: Move, chain_payment: int) -> int:
    """The payment a line belongs to: a payment's own transfer, a hold's capture, void or expiry, the
    fee or added tax linked with either, or the payment a refund gives back."""
    if t.code == T_PAYMENT:
        return m.pending_id or t.id
    if t.code in (T_PLATFORM_FEE, T_ADDED_TAX):
        return chain_payment
    if t.code in (T_REFUND, T_ADDED_TAX_REFUND):
        return t.user_data
    return 0


def public_payment_id(transfer_id: int) -> str | None:
    return public_id_of("pay_", transfer_id) if transfer_id else None


__all__ = ["TYPES", "Entry", "Filters", "Page", "payment_of", "public_payment_id"]
