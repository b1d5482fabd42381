"""A payment channel as services and the API see it: the command that opens one, the channel, a
redemption, its row, its JSON and its events."""

from __future__ import annotations

import json
from dataclasses import dataclass

from farthing import limits
from farthing.domain.channels import ids
from farthing.domain.channels.rules import Accepted, Form, Terms
from farthing.domain.money import Currency, currency
from farthing.engine.ids import derive_id
from farthing.engine.store import OutboxEvent
from farthing.errors import FarthingError, PlatformError

COLUMNS = (
    "id, customer, merchant, currency, form, deposit, expires_ms, dispute_ms, public_key, root, unit, length, "
    "created_ms, status, settle_after_ms, redemptions, redeemed, redeemed_sequence, redeemed_proof"
)


@dataclass(frozen=True, slots=True)
class OpenChannel:
    merchant: str
    currency: str
    deposit: object
    """A decimal string, like every amount."""
    form: Form
    expires_in_s: int
    dispute_s: int = limits.channel_dispute_s_default
    public_key: bytes = b""
    root: bytes = b""
    unit: object = None
    length: int = 0


@dataclass(frozen=True, slots=True)
class Channel:
    id: str
    customer: str
    merchant: str
    currency: str
    form: Form
    deposit: int
    expires_ms: int
    dispute_ms: int
    public_key: bytes
    root: bytes
    unit: int
    length: int
    created_ms: int
    status: str
    """open, closing (the payer asked to close: the merchant may still redeem until `settle_after_ms`),
    or closed."""
    settle_after_ms: int | None
    redemptions: int
    redeemed: int
    redeemed_sequence: int
    redeemed_proof: bytes
    replayed: bool = False

    @property
    def number(self) -> int:
        return channel_number(self.id)

    @property
    def terms(self) -> Terms:
        return Terms(self.number, self.form, self.deposit, self.expires_ms, self.public_key, self.root, self.unit,
                     self.length)  # fmt: skip

    @property
    def redeem_until_ms(self) -> int:
        """The end of the dispute window: the last moment a voucher can be redeemed."""
        end = self.expires_ms + self.dispute_ms
        return end if self.settle_after_ms is None else min(end, self.settle_after_ms)

    @property
    def last(self) -> Accepted:
        return Accepted(self.redeemed, self.redeemed_sequence, self.redeemed_proof or self.root)


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


def channel_of(row: tuple[object, ...]) -> Channel:
    (id_, customer, merchant, cur, form, deposit, expires, dispute, key, root, unit, length, created, status,
     settle, redemptions, redeemed, sequence, proof) = row  # fmt: skip
    return Channel(
        str(id_),
        str(customer),
        str(merchant),
        str(cur),
        Form(str(form)),
        int(str(deposit)),
        int(expires),
        int(dispute),
        bytes(key or b""),
        bytes(root or b""),
        int(str(unit)),  # type: ignore[call-overload, arg-type]
        int(length),
        int(created),
        str(status),
        None if settle is None else int(settle),  # type: ignore[call-overload]
        int(redemptions),
        int(str(redeemed)),
        int(sequence),
        bytes(proof or b""),
    )  # type: ignore[call-overload, arg-type]


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
