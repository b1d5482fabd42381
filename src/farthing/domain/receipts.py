"""Checkout receipts: what the platform hands a payer to carry back to the merchant, and how the merchant
checks it without asking the platform.

A receipt is `<payload>.<signature>`, both base64url without padding: the payload is canonical JSON
(sorted keys, no spaces) naming the checkout session, the payment, the merchant, the amount and
currency, when the receipt was made and until when it may be shown (`exp_ms`: minutes, not days), and
the allowance the payer granted the merchant at checkout, if it did; the signature is Ed25519 (RFC 8032)
by the platform's receipt key over the payload's bytes. The merchant verifies it with the platform's
public key (`GET /v1/platform/receipt_key`, fetched once), refuses one made for another merchant or past
its time, and takes each session's receipt once (the caller keeps the sessions seen:
`verify(..., seen=...)`). Pure: the time and the keys are passed in.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Container
from dataclasses import dataclass

from nacl.exceptions import BadSignatureError
from nacl.signing import SigningKey, VerifyKey

from farthing.errors import ErrorCode, FarthingError

VERSION = 1
LIFETIME_MS = 5 * 60_000
"""How long a receipt may be shown after it was made: enough for a browser to come back."""


class ReceiptRefused(FarthingError):
    """A receipt that does not prove a payment to this merchant now."""


@dataclass(frozen=True, slots=True)
class Receipt:
    session: str
    payment: str
    merchant: str
    amount: str
    """In the currency's major units, as the API writes amounts ("0.25")."""
    currency: str
    iat_ms: int
    exp_ms: int
    allowance: str | None = None
    """An allowance the payer granted the merchant on the way (later payments charged without asking)."""


def b64url(raw: bytes) -> str:
    """Base64url without padding (as JOSE writes it)."""
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def key_id(public_key: bytes) -> str:
    """A short name of a receipt key (its public key's first bytes), to tell keys apart after a rotation."""
    return "rk_" + public_key[:8].hex()


def sign(receipt: Receipt, seed: bytes) -> str:
    """The receipt as a token, signed with the Ed25519 key of this 32-byte seed."""
    body = {"v": VERSION, "session": receipt.session, "payment": receipt.payment, "merchant": receipt.merchant,
            "amount": receipt.amount, "currency": receipt.currency, "iat_ms": receipt.iat_ms,
            "exp_ms": receipt.exp_ms, "allowance": receipt.allowance}  # fmt: skip
    payload = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
    signature = SigningKey(seed).sign(payload).signature
    return f"{b64url(payload)}.{b64url(signature)}"


def public_key_of(seed: bytes) -> bytes:
    return bytes(SigningKey(seed).verify_key)


def verify(token: str, public_key: bytes, merchant: str, now_ms: int, seen: Container[str] = ()) -> Receipt:
    """The receipt, if the platform signed it for `merchant`, it is still in its time and its session is
    not among those `seen`; else `ReceiptRefused` saying why (code `receipt_invalid`)."""
    try:
        payload_text, signature_text = token.split(".")
        payload, signature = unb64url(payload_text), unb64url(signature_text)
        VerifyKey(public_key).verify(payload, signature)
        body = json.loads(payload)
        receipt = Receipt(body["session"], body["payment"], body["merchant"], body["amount"], body["currency"],
                          body["iat_ms"], body["exp_ms"], body.get("allowance"))  # fmt: skip
    except (ValueError, TypeError, KeyError, binascii.Error, BadSignatureError):
        raise ReceiptRefused(ErrorCode.receipt_invalid, "not a receipt the platform signed") from None
    if body.get("v") != VERSION or type(receipt.exp_ms) is not int or type(receipt.iat_ms) is not int:
        raise ReceiptRefused(ErrorCode.receipt_invalid, "a receipt of another version")
    if receipt.merchant != merchant:
        raise ReceiptRefused(ErrorCode.receipt_invalid, "this receipt is another merchant's")
    if not receipt.iat_ms <= now_ms < receipt.exp_ms:
        raise ReceiptRefused(ErrorCode.receipt_invalid, "this receipt is out of its time; ask the payer to pay again")
    if receipt.session in seen:
        raise ReceiptRefused(ErrorCode.receipt_invalid, "this receipt was used already")
    return receipt
