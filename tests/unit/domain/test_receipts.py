"""Checkout receipts: signed by the platform's key, checked offline by the merchant; a receipt forged,
for another merchant, out of its time or shown twice is refused, and one signed by another key too."""

from __future__ import annotations

from dataclasses import replace

import pytest

from farthing.domain import receipts
from farthing.domain.receipts import Receipt, ReceiptRefused

SEED = bytes(range(32))
NOW = 1_800_000_000_000
RECEIPT = Receipt("cs_1", "pay_x", "mer_1", "0.25", "USD", NOW, NOW + receipts.LIFETIME_MS)


def test_a_signed_receipt_verifies_with_the_public_key() -> None:
    token = receipts.sign(RECEIPT, SEED)
    assert receipts.verify(token, receipts.public_key_of(SEED), "mer_1", NOW + 1) == RECEIPT
    assert receipts.key_id(receipts.public_key_of(SEED)).startswith("rk_")


def _richer() -> str:
    """The same receipt for a hundred times the amount, signed by the same key: its payload, another's sign."""
    return receipts.sign(replace(RECEIPT, amount="25.00"), SEED)


@pytest.mark.parametrize(
    ("why", "token_of", "merchant", "now", "seen"),
    [
        ("forged", lambda t: t[:-3] + ("AAA" if not t.endswith("AAA") else "BBB"), "mer_1", NOW, ()),
        ("payload changed", lambda t: _richer().split(".")[0] + "." + t.split(".")[1], "mer_1", NOW, ()),
        ("another merchant's", lambda t: t, "mer_2", NOW, ()),
        ("too late", lambda t: t, "mer_1", NOW + receipts.LIFETIME_MS, ()),
        ("before its time", lambda t: t, "mer_1", NOW - 1, ()),
        ("shown twice", lambda t: t, "mer_1", NOW, {"cs_1"}),
        ("not a token", lambda t: "garbage", "mer_1", NOW, ()),
    ],
)  # fmt: skip
def test_what_does_not_prove_a_payment_now_is_refused(why, token_of, merchant, now, seen) -> None:  # type: ignore[no-untyped-def]
    token = token_of(receipts.sign(RECEIPT, SEED))
    with pytest.raises(ReceiptRefused) as refused:
        receipts.verify(token, receipts.public_key_of(SEED), merchant, now, seen)
    assert refused.value.code.value == "receipt_invalid", why


def test_a_receipt_signed_by_another_key_is_refused() -> None:
    token = receipts.sign(RECEIPT, bytes(32))
    with pytest.raises(ReceiptRefused):
        receipts.verify(token, receipts.public_key_of(SEED), "mer_1", NOW)
