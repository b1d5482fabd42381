"""A payment channel as the platform keeps it: its terms, where its redemptions stand, its status."""

from __future__ import annotations

from dataclasses import dataclass

from farthing.domain.channels import ids
from farthing.domain.channels.rules import Accepted, Form, Terms


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
        return ids.channel_number(self.id)

    @property
    def deadline_ms(self) -> int:
        """When what is not redeemed goes back to the payer: the end of the window and dispute time while
        it is open (the ledger's hold runs out), or `settle_after_ms` once the payer asked to close it."""
        if self.status == "closing" and self.settle_after_ms is not None:
            return self.settle_after_ms
        return self.expires_ms + self.dispute_ms

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
