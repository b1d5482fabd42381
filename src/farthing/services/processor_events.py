"""What the card processor tells the platform afterwards: Stripe's webhook events, each checked with the
endpoint's signing secret by the SDK (`farthing.adapters.stripe_gateway.verified_event`) and recorded in the
security log for the operator (a late failure of a card payment, a chargeback on a top-up: `charge.dispute.*`).
An event not signed for this endpoint is refused and recorded nowhere. Acting on them in the ledger
(taking back a top-up whose card payment failed after it was booked) is planned."""

from __future__ import annotations

from typing import Any

from farthing.errors import ErrorCode, PlatformError
from farthing.services.security_log import SecurityLog

SECRET_ENV = "FARTHING_STRIPE_WEBHOOK_SECRET"


class ProcessorEvents:
    def __init__(self, log: SecurityLog, secret: str | None) -> None:
        self.log = log
        self.secret = secret

    def receive(self, payload: bytes, signature: str | None) -> tuple[str, str]:
        """Check and record one event: its (id, type)."""
        if not self.secret:
            raise PlatformError(ErrorCode.processor_unavailable, f"set {SECRET_ENV} to take the processor's events")
        from farthing.adapters.stripe_gateway import verified_event  # loads Stripe's library: only when used

        event = verified_event(payload, signature, self.secret)
        found: Any = event.data.object if event.data is not None else None
        thing: dict[str, Any] = found.to_dict() if found is not None else {}
        metadata = thing.get("metadata") or {}
        self.log.record("processor.event", None, None, event=event.id, type=event.type,
                        object=thing.get("id"), topup=metadata.get("topup"), amount=thing.get("amount"),
                        status=thing.get("status"))  # fmt: skip
        return str(event.id), str(event.type)
