"""A card processor for real: Stripe, through its official SDK (`stripe`), as a `FundingGateway`.

A top-up is a PaymentIntent with `capture_method=manual`, confirmed at once with the payment method the
payer's browser made with Stripe.js (`pm_…`): Farthing never sees a card number. `authorize` creates it
(the top-up's id is the Stripe idempotency key and the intent's metadata), `capture` takes the money once
the ledger booked the top-up, `release` cancels it when the ledger refused. A card that wants 3-D Secure
answers `requires_action`: the intent's client secret goes back to the payer's page, which completes the
challenge with Stripe.js (`handleNextAction`); the same top-up asked again (the same Idempotency-Key)
then finds the intent authorised and books it. The processor's fee is Stripe's published price
(`fee_ppm` and `fee_fixed_minor`, 2.9 % + 30¢ by default: `docs/sources.md` §6), booked with the top-up.

Which mode it serves follows from its key: `sk_test_…` takes test-mode top-ups, `sk_live_…` live ones;
the two never mix. `api_base` points the SDK elsewhere (a local fake for tests: `tests/fake_stripe.py`).
"""

from __future__ import annotations

import threading
from typing import Any

import stripe

from farthing.domain.funding import Charge, ChargeStatus
from farthing.domain.money import Currency, allocate
from farthing.errors import ErrorCode, PlatformError

_DECLINED = ("requires_payment_method", "canceled")


class StripeGateway:
    takes = "payment_method"

    def __init__(
        self, secret_key: str, api_base: str | None = None, fee_ppm: int = 29_000, fee_fixed_minor: int = 30
    ) -> None:
        if secret_key.startswith("sk_live_"):
            self.modes = frozenset({"live"})
        elif secret_key.startswith("sk_test_"):
            self.modes = frozenset({"test"})
        else:
            raise PlatformError(ErrorCode.validation_failed, "a Stripe secret key starts sk_test_ or sk_live_")
        addresses = {"api": api_base} if api_base else None
        self.client = stripe.StripeClient(secret_key, base_addresses=addresses, max_network_retries=2)  # type: ignore[arg-type]
        self.fee_ppm, self.fee_fixed_minor = fee_ppm, fee_fixed_minor
        self._intents: dict[str, str] = {}
        """Top-up id -> its PaymentIntent's id (asked again, the intent is read, not made)."""
        self._lock = threading.Lock()

    def authorize(self, source: str, amount_units: int, currency: Currency, reference: str) -> Charge:
        """Authorise `amount_units` on the payment method `source` (pm_…); asked again for the same
        `reference`, the intent as it is now (authorised after a 3-D Secure challenge, say)."""
        if not source.startswith("pm_"):
            raise PlatformError(ErrorCode.validation_failed, "a card is given as a payment method from Stripe.js "
                                                             "(pm_…), never as a card number")  # fmt: skip
        minor = amount_units // 10 ** (currency.scale - currency.exponent)
        with self._lock:
            intent_id = self._intents.get(reference)
        try:
            if intent_id is not None:
                intent = self.client.v1.payment_intents.retrieve(intent_id)
            else:
                params: Any = {"amount": minor, "currency": currency.code.lower(), "payment_method": source,
                               "capture_method": "manual", "confirm": True, "metadata": {"topup": reference},
                               "payment_method_types": ["card"]}  # fmt: skip
                intent = self.client.v1.payment_intents.create(params, {"idempotency_key": reference})
                with self._lock:
                    self._intents[reference] = intent.id
        except stripe.CardError:
            return Charge(ChargeStatus.declined, 0, reference)
        except stripe.StripeError as exc:
            raise PlatformError(ErrorCode.store_unavailable, f"the card processor did not answer: {exc}") from None
        return self._charge(intent, currency, reference)

    def _charge(self, intent: Any, currency: Currency, reference: str) -> Charge:
        units = int(intent.amount) * 10 ** (currency.scale - currency.exponent)
        if intent.status == "requires_action":
            return Charge(ChargeStatus.authentication_required, 0, reference, units, client_secret=intent.client_secret)
        if intent.status in _DECLINED:
            return Charge(ChargeStatus.declined, 0, reference)
        if intent.status not in ("requires_capture", "succeeded"):
            raise PlatformError(ErrorCode.store_unavailable, f"the card payment is {intent.status}: ask again")
        proportional, _ = allocate(units, [self.fee_ppm, 1_000_000 - self.fee_ppm])
        fixed = self.fee_fixed_minor * 10 ** (currency.scale - currency.exponent) if currency.exponent == 2 else 0
        return Charge(ChargeStatus.succeeded, proportional + fixed, reference, units, intent.status == "succeeded")

    def capture(self, reference: str) -> Charge:
        intent_id = self._intent(reference)
        intent = self.client.v1.payment_intents.retrieve(intent_id)
        if intent.status == "requires_capture":
            options: Any = {"idempotency_key": f"{reference}:capture"}
            intent = self.client.v1.payment_intents.capture(intent_id, options=options)
        return Charge(ChargeStatus.succeeded, 0, reference, captured=intent.status == "succeeded")

    def release(self, reference: str) -> None:
        intent_id = self._intent(reference)
        options: Any = {"idempotency_key": f"{reference}:cancel"}
        self.client.v1.payment_intents.cancel(intent_id, options=options)

    def _intent(self, reference: str) -> str:
        with self._lock:
            found = self._intents.get(reference)
        if found is None:  # made before a restart: found by its metadata
            page = self.client.v1.payment_intents.search({"query": f"metadata['topup']:'{reference}'"})
            if not page.data:
                raise PlatformError(ErrorCode.not_found, f"no card payment for {reference}")
            found = page.data[0].id
        return found


def verified_event(payload: bytes, signature: str | None, secret: str) -> Any:
    """A webhook event from Stripe, its signature checked with the endpoint's secret (the SDK's own check)."""
    try:
        return stripe.Webhook.construct_event(payload, signature, secret)
    except (ValueError, stripe.SignatureVerificationError) as exc:
        raise PlatformError(ErrorCode.validation_failed, f"not a Stripe event signed for this endpoint: {exc}") from exc
