"""Cumulative vouchers: the payer signs `(channel, cumulative amount, sequence)` with the channel's
Ed25519 key; each voucher supersedes the ones before it, so the merchant keeps only the highest.

The signed message is fixed-width and domain-separated, so a signature made for anything else (or for
another channel) never verifies as a voucher here.
"""

from __future__ import annotations

from dataclasses import dataclass

from nacl.exceptions import BadSignatureError
from nacl.signing import SigningKey, VerifyKey

from farthing import limits

DOMAIN = b"farthing/voucher/v1\x00"
SIGNATURE_BYTES = 64
PUBLIC_KEY_BYTES = 32


@dataclass(frozen=True, slots=True)
class Voucher:
    channel_id: int
    cumulative: int
    """Everything paid on the channel so far, in ledger units (not the increment)."""
    sequence: int
    signature: bytes


def message(channel_id: int, cumulative: int, sequence: int) -> bytes:
    """The bytes a voucher signs: domain, channel (u128), cumulative amount (u128), sequence (u64)."""
    if not 0 < channel_id <= limits.u128_max:
        raise ValueError("channel id out of range")
    if not 0 <= cumulative <= limits.amount_max or not 0 <= sequence < 2**64:
        raise ValueError("cumulative amount or sequence out of range")
    return DOMAIN + channel_id.to_bytes(16, "big") + cumulative.to_bytes(16, "big") + sequence.to_bytes(8, "big")


def sign(key: SigningKey, channel_id: int, cumulative: int, sequence: int) -> Voucher:
    """The payer's side: a voucher for `cumulative` paid in all."""
    signed = key.sign(message(channel_id, cumulative, sequence))
    return Voucher(channel_id, cumulative, sequence, signed.signature)


def signature_valid(public_key: VerifyKey, voucher: Voucher) -> bool:
    if len(voucher.signature) != SIGNATURE_BYTES:
        return False
    try:
        public_key.verify(message(voucher.channel_id, voucher.cumulative, voucher.sequence), voucher.signature)
    except (BadSignatureError, ValueError):
        return False
    return True
