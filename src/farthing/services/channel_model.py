"""A payment channel as services and the API see it: the command that opens one, a redemption, its JSON
and its events (the channel itself is `farthing.domain.channels.channel.Channel`)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from farthing import limits
from farthing.domain.channels import ids
from farthing.domain.channels.channel import Channel
from farthing.domain.channels.rules import Form
from farthing.domain.money import Currency, Money, currency
from farthing.engine.ids import derive_id
from farthing.engine.store import OutboxEvent
from farthing.errors import ErrorCode, FarthingError, PlatformError, TransferResult
from farthing.services.amounts import positive_money


@dataclass(frozen=True, slots=True)
class OpenChannel:
    merchant: str
    deposit: Money
    """Parsed where the request came in, as every amount (`farthing.services.amounts.positive_money`)."""
    form: Form
    expires_in_s: int
    dispute_s: int = limits.channel_dispute_s_default
    public_key: bytes = b""
    root: bytes = b""
    unit: Money | None = None
    """A hash chain's: what one element pays, in the deposit's currency."""
    length: int = 0

    @property
    def currency(self) -> str:
        return self.deposit.currency.code

    @classmethod
    def of(
        cls, merchant: str, currency_code: str, deposit: object, form: Form, expires_in_s: int,
        dispute_s: int = limits.channel_dispute_s_default, public_key: bytes = b"", root: bytes = b"",
        unit: object = None, length: int = 0,
    ) -> OpenChannel:  # fmt: skip
        """A command from amounts as a request carries them (decimal strings), parsed and checked here."""
        made = None if unit is None else positive_money(unit, currency_code)
        return cls(merchant, positive_money(deposit, currency_code), form, expires_in_s, dispute_s, public_key, root,
                   made, length)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Redemption:
    channel: Channel
    amount: int
    """Paid to the merchant by this redemption."""
    fee: int
    replayed: bool


def channel_number(public_id: str) -> int:
    try:
        return ids.channel_number(public_id)
    except FarthingError as exc:
        raise PlatformError(exc.code, exc.detail) from None


def hold_id(number: int, k: int) -> int:
    """The channel's k-th hold: the first is the channel's own number."""
    return number if k == 0 else derive_id("channel-hold", str(number), str(k))


def channel_json(ch: Channel, cur: Currency | None = None) -> dict[str, object]:
    """A channel as the API shows it and as its webhook events carry it."""
    cur = cur or currency(ch.currency)
    return {
        "id": ch.id, "object": "channel", "status": ch.status, "customer": ch.customer, "merchant": ch.merchant,
        "currency": ch.currency, "form": ch.form.value, "deposit": cur.format(ch.deposit),
        "redeemed": cur.format(ch.redeemed), "redeemed_sequence": ch.redeemed_sequence,
        "expires_ms": ch.expires_ms, "dispute_s": ch.dispute_ms // 1000, "settle_after_ms": ch.settle_after_ms,
        "public_key": ch.public_key.hex() or None, "root": ch.root.hex() or None,
        "unit": cur.format(ch.unit) if ch.unit else None, "length": ch.length or None, "created_ms": ch.created_ms,
    }  # fmt: skip


def channel_event(ch: Channel, event_type: str, cur: Currency, **extra: object) -> OutboxEvent:
    suffix = event_type.rpartition(".")[2] + (f"_{ch.redemptions}" if event_type == "channel.redeemed" else "")
    event_id = f"evt_{ch.id.removeprefix('ch_')}_{suffix}"
    body = json.dumps({"id": event_id, "type": event_type, "data": {**channel_json(ch, cur), **extra}},
                      separators=(",", ":"))  # fmt: skip
    return OutboxEvent(event_id, event_type, ch.merchant, body)


class DrawRefused(PlatformError):
    """A transfer linked to a channel's deposit (`Channels.open(draws=…)`) did not fit: nothing moved."""

    def __init__(self, index: int) -> None:
        super().__init__(ErrorCode.payment_refused, "a draw linked to the deposit did not fit")
        self.index = index


def deposit_refused(results: Sequence[TransferResult], draws: int) -> PlatformError:
    """Why the ledger refused a channel's deposit: a linked draw that did not fit, or the wallet."""
    full = [i for i, r in enumerate(results[len(results) - draws :]) if r is TransferResult.exceeds_credits]
    if full:
        return DrawRefused(full[0])
    first = next(
        r for r in results if r not in (TransferResult.ok, TransferResult.exists, TransferResult.linked_event_failed)
    )
    if first is TransferResult.exceeds_credits:
        return PlatformError(ErrorCode.insufficient_funds, "the wallet does not hold the deposit")
    return PlatformError(ErrorCode.payment_refused, f"the ledger refused the deposit: {first.name}")


__all__ = [
    "Channel", "DrawRefused", "OpenChannel", "Redemption", "channel_event", "channel_json", "channel_number",
    "deposit_refused", "hold_id",
]  # fmt: skip
