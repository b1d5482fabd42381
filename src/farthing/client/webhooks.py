"""Check a webhook delivery as Standard Webhooks specifies (https://www.standardwebhooks.com): an HMAC-SHA256
under the endpoint's secret over `id.timestamp.body`, base64 in `webhook-signature` (`v1,…`, several may
stand side by side while a secret rolls), and a timestamp within five minutes of the receiver's clock."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any

from farthing.client.errors import FarthingAPIError
from farthing.clock import system_clock

TOLERANCE_S = 300


class WebhookVerificationError(FarthingAPIError):
    """The delivery is not from the platform (bad signature), or too old or too new to trust."""

    def __init__(self, detail: str) -> None:
        super().__init__(400, "webhook_invalid", detail)


def verify_webhook(
    secret: str, body: bytes | str, headers: Mapping[str, str], *, now_s: float | None = None
) -> dict[str, Any]:
    """The event a delivery carries, once its signature and timestamp check out; else raises
    `WebhookVerificationError`. `secret` is the endpoint's `whsec_…`; `headers` the request's (any case)."""
    lower = {k.lower(): v for k, v in headers.items()}
    try:
        msg_id, stamp, signatures = lower["webhook-id"], lower["webhook-timestamp"], lower["webhook-signature"]
        sent_s = int(stamp)
    except (KeyError, ValueError):
        raise WebhookVerificationError("webhook-id, webhook-timestamp and webhook-signature are needed") from None
    now = system_clock() / 1000 if now_s is None else now_s
    if abs(now - sent_s) > TOLERANCE_S:
        raise WebhookVerificationError(f"the timestamp is {int(now - sent_s)} s from this clock (at most 300)")
    raw = body.encode() if isinstance(body, str) else body
    key = base64.b64decode(secret.removeprefix("whsec_"))
    expected = base64.b64encode(hmac.new(key, f"{msg_id}.{stamp}.".encode() + raw, hashlib.sha256).digest())
    for candidate in signatures.split():
        version, _, signature = candidate.partition(",")
        if version == "v1" and hmac.compare_digest(signature.encode(), expected):
            event: dict[str, Any] = json.loads(raw)
            return event
    raise WebhookVerificationError("no signature matches the endpoint's secret")
