"""A channel's terms and the one rule that accepts a payment on it.

`accept(terms, last, payment, now_ms, …)` returns the channel's new high-water mark, or raises
`ChannelRefused` with a stable code. Checks run cheapest first and the signature or the hashes last,
so a stale or oversized payment costs no cryptography. The same rule serves the merchant's paywall
(until the channel expires) and the platform's redemption (until the dispute window ends).
"""

from __future__ import annotations

import enum
import hashlib
from dataclasses import dataclass, field
from typing import NamedTuple

from nacl.signing import VerifyKey

from farthing import limits
from farthing.domain.channels import hashchain, vouchers
from farthing.domain.channels.hashchain import ChainPayment
from farthing.domain.channels.vouchers import Voucher
from farthing.errors import ErrorCode, FarthingError

_sha256 = hashlib.sha256


class Form(enum.StrEnum):
    voucher = "voucher"
    hashchain = "hashchain"


class ChannelRefused(FarthingError):
    """A payment the channel does not accept; nothing changed."""


@dataclass(frozen=True, slots=True)
class Terms:
    """What a verifier needs, and all it needs: no call to the platform."""

    channel_id: int
    form: Form
    deposit: int
    expires_ms: int
    public_key: bytes = b""
    """Voucher form: the payer's Ed25519 public key (32 bytes)."""
    root: bytes = b""
    """Hash-chain form: `w_0`, the payer's commitment."""
    unit: int = 0
    """Hash-chain form: what one element is worth, in ledger units."""
    length: int = 0
    """Hash-chain form: how many elements the chain has beyond its root."""
    _key: VerifyKey | None = field(default=None, init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        if not 0 < self.channel_id <= limits.u128_max:
            raise ChannelRefused(ErrorCode.validation_failed, "channel id out of range")
        if not 0 < self.deposit <= limits.amount_max:
            raise ChannelRefused(ErrorCode.amount_invalid, "a channel's deposit must be more than zero")
        if self.form is Form.voucher:
            if len(self.public_key) != vouchers.PUBLIC_KEY_BYTES:
                raise ChannelRefused(ErrorCode.validation_failed, "a voucher channel needs a 32-byte Ed25519 key")
            object.__setattr__(self, "_key", VerifyKey(self.public_key))
        else:
            if len(self.root) != hashchain.ELEMENT_BYTES:
                raise ChannelRefused(ErrorCode.validation_failed, "a hash-chain channel needs a 32-byte root")
            if not 0 < self.length <= hashchain.LENGTH_MAX or self.unit <= 0:
                raise ChannelRefused(
                    ErrorCode.validation_failed,
                    f"a hash chain has 1 to {hashchain.LENGTH_MAX} elements of a positive unit value",
                )
            if self.unit * self.length > self.deposit:
                raise ChannelRefused(ErrorCode.voucher_exceeds_deposit, "the chain is worth more than the deposit")


class Accepted(NamedTuple):
    """A channel's high-water mark: paid in all, the voucher's sequence or the chain's index, and the
    proof (the voucher's signature, or the chain element). A tuple: made on every payment accepted."""

    amount: int
    sequence: int
    proof: bytes


def opening(terms: Terms) -> Accepted:
    """Nothing paid yet; a chain starts from its root."""
    return Accepted(0, 0, terms.root)


def accept(
    terms: Terms,
    last: Accepted,
    payment: Voucher | ChainPayment,
    now_ms: int,
    price: int = 1,
    until_ms: int | None = None,
    most: int | None = None,
) -> Accepted:
    """The new high-water mark if `payment` pays at least `price` (and at most `most`) beyond `last`,
    before `until_ms` (default: the channel's expiry)."""
    if payment.channel_id != terms.channel_id:
        raise ChannelRefused(ErrorCode.channel_mismatch, "this payment was made on another channel")
    if now_ms >= (terms.expires_ms if until_ms is None else until_ms):
        raise ChannelRefused(ErrorCode.channel_expired, "the channel has expired")
    if isinstance(payment, Voucher):
        if terms.form is not Form.voucher:
            raise ChannelRefused(ErrorCode.channel_mismatch, "this channel pays with a hash chain, not vouchers")
        amount, sequence = payment.cumulative, payment.sequence
    else:
        if terms.form is not Form.hashchain:
            raise ChannelRefused(ErrorCode.channel_mismatch, "this channel pays with vouchers, not a hash chain")
        if payment.index > terms.length:
            raise ChannelRefused(ErrorCode.voucher_exceeds_deposit, f"the chain has {terms.length} elements")
        amount, sequence = payment.index * terms.unit, payment.index
    if sequence <= last.sequence or amount <= last.amount:
        raise ChannelRefused(ErrorCode.voucher_stale, "a payment as high or higher was accepted already")
    if amount > terms.deposit:
        raise ChannelRefused(ErrorCode.voucher_exceeds_deposit, "the payment is more than the channel's deposit")
    paid = amount - last.amount
    if paid < price:
        raise ChannelRefused(ErrorCode.payment_insufficient, f"pays {paid} units where {price} are asked")
    if most is not None and paid > most:
        raise ChannelRefused(ErrorCode.payment_insufficient, f"pays {paid} units, more than the {most} accepted")
    if isinstance(payment, Voucher):
        assert terms._key is not None
        if not vouchers.signature_valid(terms._key, payment):
            raise ChannelRefused(ErrorCode.voucher_signature_invalid, "the voucher's signature is not the channel's")
        return Accepted(amount, sequence, payment.signature)
    steps = sequence - last.sequence
    if steps == 1:  # the common case, one unit a payment: one hash, no loop
        valid = _sha256(payment.element).digest() == last.proof and len(payment.element) == hashchain.ELEMENT_BYTES
    else:
        valid = hashchain.leads_to(payment.element, steps, last.proof)
    if not valid:
        raise ChannelRefused(ErrorCode.chain_element_invalid, "the chain element does not lead to the last one")
    return Accepted(amount, sequence, payment.element)
