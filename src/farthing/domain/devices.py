"""Devices that pay for their own use (a charger, a vending machine, a sensor), within the caps their owner
set, from their owner's wallet; and the signed request a device sends.

A device holds an Ed25519 key; its owner registers the public half. To pay, the device signs the exact
bytes of a JSON request and sends them with the signature (the envelope)::

    {"request": "<base64url of the request's JSON bytes>", "signature": "<base64url of 64 bytes>"}

    request: {"device": "dev_…", "merchant": "mer_…", "amount": "0.25", "currency": "EUR",
              "nonce": "a unique string", "ts_ms": 1796000000000, "reference": "bay 4, 0.5 kWh"}

A request with `"channel_s": 3600` opens a payment channel instead (`amount` is its deposit): the device
then pays the merchant with vouchers signed by the same key, checked by the merchant without a call.

The signature covers the bytes as sent (no re-encoding to agree on). The nonce is the payment's
idempotency key: a request delivered twice pays once and is answered the same. A request older or newer
than `FRESH_MS` is refused, so a nonce need only be remembered that long.

Pure: the clock's reading comes in with each call.
"""

from __future__ import annotations

import binascii
import json
from dataclasses import dataclass

from nacl.exceptions import BadSignatureError
from nacl.signing import VerifyKey
from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, ValidationError

from farthing.domain.receipts import unb64url
from farthing.errors import ErrorCode, PlatformError

FRESH_MS = 300_000
"""How far a request's `ts_ms` may be from the platform's clock: five minutes either way."""
STATUSES = ("active", "paused", "revoked")
REQUEST_CHARS_MAX = 2048
"""The longest request an envelope carries (base64url characters); a signature is 86 (64 bytes)."""
SIGNATURE_CHARS_MAX = 100


@dataclass(frozen=True, slots=True)
class Device:
    id: str
    owner: str
    """The customer whose wallet pays."""
    name: str
    kind: str
    public_key: bytes
    """Ed25519, 32 bytes."""
    currency: str
    per_payment: int
    per_day: int
    """Within a UTC day, in ledger units (a headroom account in the ledger holds it between processes)."""
    per_month: int
    """Within a UTC calendar month."""
    merchants: tuple[str, ...]
    """The merchants it may pay (empty: any)."""
    status: str
    """active, paused (refused until resumed) or revoked (refused for good)."""
    mode: str
    created_ms: int
    country: str | None = None
    """Where it is installed (ISO 3166 alpha-2), as its owner registered it: evidence of the place of
    supply of what it pays for (`farthing.domain.policy.inputs.Evidence.site`)."""


class DeviceRequestIn(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    device: StrictStr = Field(max_length=64)
    merchant: StrictStr = Field(max_length=64)
    amount: StrictStr = Field(max_length=32)
    currency: StrictStr = Field(pattern=r"^[A-Z]{3}$")
    nonce: StrictStr = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:-]+$")
    ts_ms: StrictInt = Field(ge=0)
    reference: StrictStr | None = Field(default=None, max_length=255)
    channel_s: StrictInt | None = Field(default=None, ge=1)
    """Set: the request opens a voucher channel to the merchant for this many seconds, `amount` its
    deposit, its vouchers signed with this device's key (`POST /v1/devices/channels`)."""


class DeviceRefused(PlatformError):
    """A device's request refused before any money moved."""


def envelope(raw: bytes) -> tuple[str, str]:
    """The envelope's two fields as a message carries them (JSON bytes)."""
    try:
        outer = json.loads(raw)
        return _text(outer["request"]), _text(outer["signature"])
    except (ValueError, KeyError, TypeError, RecursionError):
        raise DeviceRefused(ErrorCode.device_request_invalid,
                            'the envelope is {"request": …, "signature": …}, both base64url') from None  # fmt: skip


def opened(request_b64: str, signature_b64: str) -> tuple[bytes, bytes, str]:
    """The request's bytes, its signature, and the device it names (not yet verified: the device's key is
    looked up by the id it names)."""
    try:
        request, signature = unb64url(request_b64), unb64url(signature_b64)
        device = json.loads(request)["device"]
    except (ValueError, KeyError, TypeError, RecursionError, binascii.Error):
        said = "request and signature are base64url, the request a JSON object naming its device"
        raise DeviceRefused(ErrorCode.device_request_invalid, said) from None
    if not isinstance(device, str) or len(signature) != 64:
        raise DeviceRefused(ErrorCode.device_request_invalid, "a request names its device; a signature is 64 bytes")
    return request, signature, device


def _text(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError("not a string")
    return value


def verify(device: Device, request: bytes, signature: bytes, now_ms: int) -> DeviceRequestIn:
    """The request, once its signature is the device's, it names this device, it is fresh and the device
    may pay (active); `DeviceRefused` otherwise."""
    try:
        VerifyKey(device.public_key).verify(request, signature)
    except BadSignatureError:
        raise DeviceRefused(ErrorCode.device_signature_invalid, "the signature is not the device's") from None
    try:
        asked = DeviceRequestIn.model_validate_json(request)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise DeviceRefused(ErrorCode.device_request_invalid, f"the request: {problems}") from None
    if asked.device != device.id:
        raise DeviceRefused(ErrorCode.device_request_invalid, "the request names another device")
    off_s = abs(now_ms - asked.ts_ms) // 1000
    if abs(now_ms - asked.ts_ms) > FRESH_MS:
        raise DeviceRefused(ErrorCode.device_request_stale, f"ts_ms is {off_s} s from now; at most {FRESH_MS // 1000}")
    if device.status != "active":
        code = ErrorCode.device_paused if device.status == "paused" else ErrorCode.device_revoked
        raise DeviceRefused(code, f"the device is {device.status}")
    if asked.currency != device.currency:
        raise DeviceRefused(ErrorCode.currency_mismatch, f"the device pays in {device.currency}")
    if device.merchants and asked.merchant not in device.merchants:
        raise DeviceRefused(ErrorCode.device_cap_exceeded, "the device's owner did not let it pay this merchant")
    return asked


def public_key(text: str) -> bytes:
    """An Ed25519 public key as an owner registers it (base64url or hex, 32 bytes)."""
    for decode in (bytes.fromhex, unb64url):
        try:
            key = decode(text)
        except (ValueError, binascii.Error):
            continue
        if len(key) == 32:
            return key
    raise DeviceRefused(ErrorCode.validation_failed, "public_key is an Ed25519 public key: 32 bytes, base64url or hex")
