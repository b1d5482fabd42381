"""A wallet's lines as the history answers them: their types, an entry, a page and its filters."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass

from farthing.domain.balances import Move
from farthing.domain.ledger_types import Transfer, TransferFlags
from farthing.errors import ErrorCode, PlatformError
from farthing.services.accounts import (
    T_ADDED_TAX,
    T_ADDED_TAX_REFUND,
    T_CARD_FEE,
    T_CHANNEL,
    T_PAYMENT,
    T_PLATFORM_FEE,
    T_REFUND,
    T_ROUNDING,
    T_TAX,
    T_TOPUP,
    public_id_of,
)

_PENDING, _POST, _VOID = int(TransferFlags.pending), int(TransferFlags.post_pending), int(TransferFlags.void_pending)

_BY_CODE = {
    T_TOPUP: "topup",
    T_CARD_FEE: "card_fee",
    T_PLATFORM_FEE: "platform_fee",
    T_REFUND: "refund",
    T_ADDED_TAX: "added_tax",
    T_ADDED_TAX_REFUND: "added_tax_refund",
    T_TAX: "tax",
    T_ROUNDING: "tax_rounding",
}
"""Transfer types told by their code alone."""
TYPES = {
    # type -> SQL condition on an entry row
    "payment": f"code = {T_PAYMENT} AND (flags & 14) = 0",
    "hold": f"code = {T_PAYMENT} AND (flags & 2) <> 0 AND expired = 0",
    "capture": f"code = {T_PAYMENT} AND (flags & 4) <> 0",
    "hold_voided": f"code = {T_PAYMENT} AND (flags & 8) <> 0",
    "hold_expired": "expired = 1",
    "channel_deposit": f"code = {T_CHANNEL} AND (flags & 2) <> 0 AND expired = 0",
    "channel_payment": f"code = {T_CHANNEL} AND (flags & 4) <> 0",
    "channel_released": f"code = {T_CHANNEL} AND (flags & 8) <> 0",
    **{name: f"code = {code}" for code, name in _BY_CODE.items()},
}


def type_of(code: int, flags: int, expired: bool) -> str:
    if expired:
        return "hold_expired"
    if code == T_PAYMENT:
        if flags & _PENDING:
            return "hold"
        if flags & _POST:
            return "capture"
        if flags & _VOID:
            return "hold_voided"
        return "payment"
    if code == T_CHANNEL:
        return "channel_deposit" if flags & _PENDING else "channel_payment" if flags & _POST else "channel_released"
    return _BY_CODE.get(code, "transfer")


@dataclass(frozen=True, slots=True)
class Entry:
    """One account's line for one transfer or expiry, with its balances after."""

    seq: int
    timestamp_ms: int
    transfer_id: int
    type: str
    side: str  # debit | credit
    amount: int
    """Posted amount this line moved (0 for a hold, a void or an expiry)."""
    pending_delta: int
    """Change of this side's pending column (+ a hold, - its capture, void or expiry)."""
    balances: tuple[int, int, int, int]
    """debits_pending, debits_posted, credits_pending, credits_posted after this line."""
    payment_id: int
    reference: str | None

    @property
    def id(self) -> str:
        return f"txn_{self.seq}"


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
