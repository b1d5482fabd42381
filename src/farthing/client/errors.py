"""The client's errors: one class per kind of refusal, chosen by the problem's stable `code` (a 402 may be
a want of funds, a declined card, a policy's refusal or a step-up: each is told apart), by the HTTP
status only for codes this client does not know."""

from __future__ import annotations

import contextlib
from typing import Any

import httpx


class FarthingAPIError(Exception):
    """A problem+json answer: `code` is stable and safe to branch on; `detail` is for people."""

    def __init__(self, status: int, code: str, detail: str, errors: list[dict[str, Any]] | None = None) -> None:
        super().__init__(f"{status} {code}: {detail}")
        self.status = status
        self.code = code
        self.detail = detail
        self.errors = errors or []


class AuthenticationError(FarthingAPIError):
    """401: the key is missing, unknown or revoked."""


class ForbiddenError(FarthingAPIError):
    """403: the key may not do this."""


class NotFoundError(FarthingAPIError):
    """404: no such object for this key."""


class PaymentRefusedError(FarthingAPIError):
    """402: the payment was refused and nothing moved; the subclasses say why."""


class InsufficientFundsError(PaymentRefusedError):
    """402 insufficient_funds: the wallet does not hold enough."""


class CardError(PaymentRefusedError):
    """402 card_declined or card_authentication_required: the card, not the wallet."""


class PolicyDeniedError(PaymentRefusedError):
    """402 policy_denied: a rule of the currency's policy refused it (the detail names the rule)."""


class AuthenticationRequiredError(PaymentRefusedError):
    """402 authentication_required: the payer must authenticate strongly first (enrol a second factor)."""


class ConflictError(FarthingAPIError):
    """409: the object's state forbids this (a hold already captured), or the same Idempotency-Key is in
    flight (`idempotency_key_in_flight`: the client retries that by itself for a few seconds)."""


class InvalidRequestError(FarthingAPIError):
    """422 and other refusals of the request as sent."""


class RateLimitedError(FarthingAPIError):
    """429: too many requests; `retry_after_s` says when to try again."""

    retry_after_s: float | None = None


class ServiceUnavailableError(FarthingAPIError):
    """503: the service cannot answer now (its store away); a retry with the same Idempotency-Key is safe."""


BY_CODE: dict[str, type[FarthingAPIError]] = {
    "insufficient_funds": InsufficientFundsError,
    "card_declined": CardError,
    "card_authentication_required": CardError,
    "policy_denied": PolicyDeniedError,
    "authentication_required": AuthenticationRequiredError,
    "rate_limited": RateLimitedError,
    "topups_paused": RateLimitedError,
}
BY_STATUS: dict[int, type[FarthingAPIError]] = {
    401: AuthenticationError,
    402: PaymentRefusedError,
    403: ForbiddenError,
    404: NotFoundError,
    409: ConflictError,
    429: RateLimitedError,
    503: ServiceUnavailableError,
}


def raise_for(response: httpx.Response) -> None:
    """Raise the error a refused answer stands for (nothing for a success)."""
    if response.status_code < 400:
        return
    try:
        body = response.json()
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    code = str(body.get("code") or "http_error")
    kind = BY_CODE.get(code) or BY_STATUS.get(response.status_code, InvalidRequestError)
    error = kind(response.status_code, code, str(body.get("detail", response.text)), body.get("errors"))
    if isinstance(error, RateLimitedError) and "retry-after" in response.headers:
        with contextlib.suppress(ValueError):
            error.retry_after_s = float(response.headers["retry-after"])
    raise error
