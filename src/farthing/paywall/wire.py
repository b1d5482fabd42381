"""The x402 wire format, both versions, for Farthing's channel payments.

v2 (`PAYMENT-REQUIRED` / `PAYMENT-SIGNATURE` / `PAYMENT-RESPONSE`, each base64 of a JSON object) is
what the paywall speaks first; v1 (`X-PAYMENT` / `X-PAYMENT-RESPONSE`, requirements in the 402's JSON
body with `maxAmountRequired`) is accepted and answered in its own names. Farthing's binding of the
`batch-settlement` scheme: the commitment is a channel payment (a signed cumulative voucher or a
hash-chain element); it is verified locally, kept as the channel's latest, and redeemed later.

Amounts on the wire are atomic units of the asset at the ledger's scale (`extra.decimals`), as strings.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

from farthing import limits
from farthing.domain.channels.hashchain import ELEMENT_BYTES, ChainPayment
from farthing.domain.channels.vouchers import SIGNATURE_BYTES, Voucher
from farthing.errors import ErrorCode, FarthingError

SCHEME = "batch-settlement"
HEADER_REQUIRED, HEADER_SIGNATURE, HEADER_RESPONSE = "payment-required", "payment-signature", "payment-response"
HEADER_V1, HEADER_V1_RESPONSE = "x-payment", "x-payment-response"


class PaymentHeaderInvalid(FarthingError):
    """A payment header that cannot be read (HTTP 400); nothing was stored."""

    def __init__(self, detail: str) -> None:
        super().__init__(ErrorCode.payment_header_invalid, detail)


@dataclass(frozen=True, slots=True)
class Requirement:
    """One way to pay for a resource."""

    network: str
    amount: int
    asset: str
    pay_to: str
    extra: dict[str, Any]
    max_timeout_s: int = 60

    def v2(self) -> dict[str, Any]:
        return {
            "scheme": SCHEME, "network": self.network, "amount": str(self.amount), "asset": self.asset,
            "payTo": self.pay_to, "maxTimeoutSeconds": self.max_timeout_s, "extra": self.extra,
        }  # fmt: skip

    def v1(self, url: str, description: str) -> dict[str, Any]:
        return {
            "scheme": SCHEME, "network": self.network, "maxAmountRequired": str(self.amount), "asset": self.asset,
            "payTo": self.pay_to, "resource": url, "description": description, "mimeType": "",
            "maxTimeoutSeconds": self.max_timeout_s, "extra": self.extra,
        }  # fmt: skip


@dataclass(frozen=True, slots=True)
class Paid:
    """A decoded payment header: the version it came in, what it says it accepted, and the payment."""

    version: int
    scheme: str
    network: str
    channel: str
    payment: Voucher | ChainPayment
    accepted: dict[str, Any]


def b64json(obj: object) -> str:
    return base64.b64encode(json.dumps(obj, separators=(",", ":")).encode()).decode("ascii")


def required_v2(url: str, description: str, accepts: list[Requirement], error: str | None) -> dict[str, Any]:
    body: dict[str, Any] = {"x402Version": 2, "resource": {"url": url, "description": description}}
    if error:
        body["error"] = error
    body["accepts"] = [r.v2() for r in accepts]
    return body


def required_v1(url: str, description: str, accepts: list[Requirement], error: str | None) -> dict[str, Any]:
    accepts_v1 = [r.v1(url, description) for r in accepts]
    return {"x402Version": 1, "error": error or "payment required", "accepts": accepts_v1}


def settled(network: str, transaction: str, payer: str, amount: int) -> bytes:
    """The `PAYMENT-RESPONSE` of a payment accepted: `settlement(True, …)`, built without a dict (it is
    on every paid request). `transaction` and `amount` are made of ids and digits; the rest is quoted."""
    text = (
        f'{{"success":true,"transaction":"{transaction}","network":{json.dumps(network)},'
        f'"payer":{json.dumps(payer)},"amount":"{amount}"}}'
    )
    return base64.b64encode(text.encode())


def settlement(success: bool, network: str, transaction: str, payer: str, amount: int, error: str | None) -> str:
    body: dict[str, Any] = {"success": success, "transaction": transaction, "network": network, "payer": payer}
    if success:
        body["amount"] = str(amount)
    else:
        body["errorReason"] = error
    return b64json(body)


def decode(header: bytes, number_of: Any) -> Paid:
    """The payment in a `PAYMENT-SIGNATURE` or `X-PAYMENT` header; `number_of(channel_id)` turns a public
    channel id into its number (raising for one that is not a channel id)."""
    if len(header) > limits.payment_header_bytes_max:
        raise PaymentHeaderInvalid(f"payment headers are limited to {limits.payment_header_bytes_max} bytes")
    try:
        body = json.loads(base64.b64decode(header, validate=True).decode())
    except (binascii.Error, ValueError):
        raise PaymentHeaderInvalid("the payment header is not base64 of a JSON object") from None
    if not isinstance(body, dict):
        raise PaymentHeaderInvalid("the payment header is not base64 of a JSON object")
    version = body.get("x402Version")
    if version == 2:
        accepted = body.get("accepted")
        if not isinstance(accepted, dict):
            raise PaymentHeaderInvalid("an x402 v2 payment names the requirement it accepted in `accepted`")
        scheme, network = accepted.get("scheme"), accepted.get("network")
    elif version == 1:
        accepted = {}
        scheme, network = body.get("scheme"), body.get("network")
    else:
        raise PaymentHeaderInvalid("x402Version must be 1 or 2")
    payload = body.get("payload")
    if not isinstance(payload, dict) or not isinstance(scheme, str) or not isinstance(network, str):
        raise PaymentHeaderInvalid("the payment needs a scheme, a network and a payload object")
    channel = payload.get("channel")
    if not isinstance(channel, str) or len(channel) > 64:
        raise PaymentHeaderInvalid("the payload names no channel")
    try:
        number = number_of(channel)
    except FarthingError:
        raise PaymentHeaderInvalid(f"{channel!r} is not a channel id") from None
    return Paid(version, scheme, network, channel, _payment(number, payload), accepted)


def _payment(number: int, payload: dict[str, Any]) -> Voucher | ChainPayment:
    voucher, chain = payload.get("voucher"), payload.get("chain")
    try:
        if isinstance(voucher, dict) and chain is None:
            cumulative, sequence, signature = voucher["cumulative"], voucher["sequence"], voucher["signature"]
            if not isinstance(cumulative, str) or not cumulative.isdigit() or len(cumulative) > 39:
                raise ValueError("cumulative")
            if type(sequence) is not int or not 0 < sequence < 2**63 or not isinstance(signature, str):
                raise ValueError("sequence")
            raw = bytes.fromhex(signature)
            if len(raw) != SIGNATURE_BYTES or int(cumulative) > limits.amount_max:
                raise ValueError("signature")
            return Voucher(number, int(cumulative), sequence, raw)
        if isinstance(chain, dict) and voucher is None:
            index, element = chain["index"], chain["element"]
            if type(index) is not int or not 0 < index < 2**63 or not isinstance(element, str):
                raise ValueError("index")
            raw = bytes.fromhex(element)
            if len(raw) != ELEMENT_BYTES:
                raise ValueError("element")
            return ChainPayment(number, index, raw)
    except (KeyError, ValueError):
        pass
    raise PaymentHeaderInvalid(
        "the payload carries either a voucher {cumulative (atomic units), sequence, signature (hex)} "
        "or a chain element {index, element (hex)}"
    )


def voucher_payload(channel: str, v: Voucher) -> dict[str, Any]:
    return {"channel": channel, "voucher": {"cumulative": str(v.cumulative), "sequence": v.sequence,
                                            "signature": v.signature.hex()}}  # fmt: skip


def chain_payload(channel: str, c: ChainPayment) -> dict[str, Any]:
    return {"channel": channel, "chain": {"index": c.index, "element": c.element.hex()}}
