"""A device's side of paying: its key, and its payment requests signed as Farthing checks them
(`farthing.domain.devices`). Nothing here talks to a network: post the envelope to
`POST /v1/devices/payments`, or publish it on MQTT to `farthing/v1/devices/{device_id}/pay`.

    key = DeviceKey.generate()            # keep key.seed() on the device; register key.public()
    envelope = key.request("dev_…", "mer_…", "0.25", "EUR", now_ms, reference="bay 4")
"""

from __future__ import annotations

import base64
import json
import secrets

from nacl.signing import SigningKey


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class DeviceKey:
    def __init__(self, seed: bytes) -> None:
        self._key = SigningKey(seed)

    @classmethod
    def generate(cls) -> DeviceKey:
        return cls(secrets.token_bytes(32))

    def seed(self) -> bytes:
        """The private key's 32 bytes: what the device keeps, and no one else."""
        return bytes(self._key)

    def public(self) -> str:
        """The public key as its owner registers it (base64url)."""
        return _b64(bytes(self._key.verify_key))

    def request(
        self, device: str, merchant: str, amount: str, currency: str, ts_ms: int, nonce: str | None = None,
        reference: str | None = None, channel_s: int | None = None,
    ) -> dict[str, str]:  # fmt: skip
        """A signed payment request: {"request": …, "signature": …}. The same nonce is the same payment:
        keep it to resend a request whose answer was lost (a new one pays again). With `channel_s`, the
        request opens a voucher channel for that many seconds instead, `amount` its deposit
        (`POST /v1/devices/channels`, or MQTT's `farthing/v1/devices/{device_id}/open`)."""
        body: dict[str, object] = {"device": device, "merchant": merchant, "amount": amount, "currency": currency,
                                   "nonce": nonce or secrets.token_hex(12), "ts_ms": ts_ms}  # fmt: skip
        if reference is not None:
            body["reference"] = reference
        if channel_s is not None:
            body["channel_s"] = channel_s
        raw = json.dumps(body, separators=(",", ":")).encode()
        return {"request": _b64(raw), "signature": _b64(self._key.sign(raw).signature)}
