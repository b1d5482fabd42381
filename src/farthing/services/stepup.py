"""Step-up: a payment the policy steps up waits, as a hold, for the payer's strong authentication.

The hold is placed for `challenge_s` and counts toward nothing yet. The payer answers the challenge
(`POST /v1/payments/{id}/authenticate`) with a TOTP code, a recovery code or a passkey assertion; then
the payer's SCA counters start again from zero (a new epoch) and the hold is captured under the policy
(counted toward the limits and the tax base, the fee taken), as one payment. A challenge not answered
in time is over: the ledger releases the hold by itself. `ATTEMPTS_MAX` wrong answers lock it, and the
hold is voided at once. Neither the merchant nor the payer's key can capture it around the challenge.
"""

from __future__ import annotations

import base64
import dataclasses
import secrets
from typing import Any, Protocol

from farthing.clock import Clock
from farthing.domain.challenges import Challenge
from farthing.domain.principals import Principal, require
from farthing.errors import ErrorCode, PlatformError
from farthing.services.factors import Factors
from farthing.services.holds import Holds
from farthing.services.payment_policy import PaymentPolicy
from farthing.services.payments.events import Decisions
from farthing.services.payments.model import Payment
from farthing.services.security_log import SecurityLog

CHALLENGE_S = 300
"""How long a payment waits for strong authentication before its hold is released."""
ATTEMPTS_MAX = 5
_OPEN = ("requires_authentication", "requires_capture")
"""A payment whose hold still waits (as a challenge sees it)."""


class PasskeyCheck(Protocol):
    """What step-up needs of `farthing.services.passkeys.Passkeys`."""

    def request_options(self, party: str, challenge: bytes) -> dict[str, Any]: ...

    def verify(self, party: str, challenge: bytes, assertion: dict[str, Any]) -> str | None: ...


class ChallengeRepository(Protocol):
    def find(self, payment_id: str) -> Challenge | None: ...

    def open(self, payment: Payment, webauthn_challenge: bytes, now_ms: int, expires_ms: int) -> None:
        """Open the payment's challenge (nothing if it has one)."""
        ...

    def wrong(self, payment_id: str) -> None:
        """Count a wrong answer."""
        ...

    def close(self, payment_id: str, status: str) -> None:
        """End a pending challenge: succeeded, expired or locked."""
        ...

    def recent(self, limit: int) -> list[tuple[Challenge, str, int]]:
        """The newest challenges with their currency and when each was opened, newest first."""
        ...

    def waiting(self, party_id: str, now_ms: int, limit: int) -> list[str]:
        """The payer's payments whose challenge is pending and not over, the soonest over first."""
        ...


class StepUps:
    challenge_s = CHALLENGE_S

    def __init__(
        self, challenges: ChallengeRepository, holds: Holds, factors: Factors, passkeys: PasskeyCheck | None,
        policy: PaymentPolicy, decisions: Decisions, log: SecurityLog, clock: Clock,
    ) -> None:  # fmt: skip
        self.challenges = challenges
        self.holds = holds
        self.factors = factors
        self.passkeys = passkeys
        self.policy = policy
        self.decisions = decisions
        self.log = log
        self.clock = clock

    def recent(self, principal: Principal, limit: int = 20) -> list[tuple[Challenge, str, int]]:
        """The newest step-ups, for an operator: (challenge, currency, opened at), newest first."""
        require(principal, "operator", "read")
        return self.challenges.recent(limit)

    def waiting(self, principal: Principal, limit: int = 20) -> list[Payment]:
        """The payer's payments that wait for its strong authentication now (its devices' among them), the
        soonest over first, each with its challenge."""
        if principal.kind != "customer" or principal.party_id is None:
            return []
        ids = self.challenges.waiting(principal.party_id, self.clock(), limit)
        return [self.annotate(self.holds.get(principal, payment_id)) for payment_id in ids]

    def ready(self, party_id: str) -> bool:
        """The payer can answer a challenge: it has a confirmed second factor."""
        return self.factors.has_factor(party_id)

    def find(self, payment_id: str) -> Challenge | None:
        return self.challenges.find(payment_id)

    def annotate(self, payment: Payment) -> Payment:
        """The payment with its challenge: opened when the hold was just placed (or replayed)."""
        found = self.find(payment.id)
        if found is None and payment.status == "requires_authentication":
            now = self.clock()
            self.challenges.open(payment, secrets.token_bytes(32), now, now + self.challenge_s * 1000)
            found = self.find(payment.id)
        if found is None or found.status != "pending" or payment.status not in _OPEN:
            return payment  # no challenge, or one whose hold was released (voided, expired) meanwhile
        return dataclasses.replace(payment, status="requires_authentication", authentication=self.offer(found))

    def offer(self, c: Challenge) -> dict[str, object]:
        """What the payer's app needs to answer: the URL, the methods, the WebAuthn request options; and
        the page where a person answers it in a browser."""
        methods = ["totp", "recovery_code"]
        webauthn: dict[str, Any] = {
            "challenge": base64.urlsafe_b64encode(c.webauthn_challenge).decode().rstrip("="),
            "userVerification": "required",
            "timeout": self.challenge_s * 1000,
        }
        if self.passkeys is not None:
            methods.append("passkey")
            webauthn = self.passkeys.request_options(c.party_id, c.webauthn_challenge)
        return {
            "url": f"/v1/payments/{c.payment_id}/authenticate",
            "page": f"/wallet/payments/{c.payment_id}",
            "methods": methods,
            "expires_ms": c.expires_ms,
            "attempts_left": max(ATTEMPTS_MAX - c.attempts, 0),
            "webauthn": webauthn,
        }

    def authenticate(
        self,
        principal: Principal,
        payment_id: str,
        code: str | None = None,
        recovery_code: str | None = None,
        passkey: dict[str, Any] | None = None,
    ) -> Payment:
        """Answer the payment's challenge; on success the payment is captured and returned succeeded."""
        _, customer, _, _ = self.holds.find(principal, payment_id)
        if principal.party_id != customer or principal.kind != "customer":
            raise PlatformError(ErrorCode.forbidden, "only the payer answers its payment's challenge")
        c = self.find(payment_id)
        if c is None:
            raise PlatformError(ErrorCode.payment_not_capturable, "this payment does not wait for authentication")
        if c.status == "succeeded":
            done = self.holds.get(principal, payment_id)
            return dataclasses.replace(done, replayed=True, policy=self.decisions.decision_of(payment_id, counted=True))
        if c.status != "pending" or c.attempts >= ATTEMPTS_MAX:
            raise PlatformError(ErrorCode.challenge_locked, "too many wrong answers: the payment was canceled")
        now = self.clock()
        if now >= c.expires_ms:
            self._close(c, "expired")
            raise PlatformError(ErrorCode.challenge_expired, "the challenge expired; the hold was released")
        if sum(x is not None for x in (code, recovery_code, passkey)) != 1:
            raise PlatformError(ErrorCode.validation_failed, "answer with one of: code, recovery_code, passkey")
        if passkey is not None:
            if self.passkeys is None:
                raise PlatformError(ErrorCode.validation_failed, "passkeys are not available here")
            method = self.passkeys.verify(customer, c.webauthn_challenge, passkey)
        else:
            method = self.factors.verify(customer, code, recovery_code)
        if method is None:
            return self._wrong(principal, c)
        self.policy.strongly_authenticated(customer, now)
        payment = self.holds.capture(principal, payment_id, None, authenticated=True)
        self._close(c, "succeeded")
        self.log.record("step_up.succeeded", customer, principal.key_id, payment=payment_id, method=method)
        return dataclasses.replace(payment, status="succeeded")

    def decline(self, principal: Principal, payment_id: str) -> Payment:
        """The payer says no to a payment that waits for it (its device's, say): the hold is released at
        once, and the room it kept in a device's caps with it."""
        _, customer, _, _ = self.holds.find(principal, payment_id)
        if principal.party_id != customer or principal.kind != "customer":
            raise PlatformError(ErrorCode.forbidden, "only the payer declines its payment")
        c = self.find(payment_id)
        if c is None or c.status != "pending":
            raise PlatformError(ErrorCode.payment_not_capturable, "this payment does not wait for you")
        self._close(c, "declined")
        payment = self.holds.void(principal, payment_id)
        self.log.record("step_up.declined", customer, principal.key_id, payment=payment_id)
        return payment

    def _wrong(self, principal: Principal, c: Challenge) -> Payment:
        self.challenges.wrong(c.payment_id)
        self.log.record("step_up.failed", c.party_id, principal.key_id, payment=c.payment_id)
        if c.attempts + 1 >= ATTEMPTS_MAX:
            self._close(c, "locked")
            self.holds.void(principal, c.payment_id)
            raise PlatformError(ErrorCode.challenge_locked, "too many wrong answers: the payment was canceled")
        raise PlatformError(
            ErrorCode.authentication_failed, f"not accepted; {ATTEMPTS_MAX - c.attempts - 1} attempts left"
        )

    def _close(self, c: Challenge, status: str) -> None:
        self.challenges.close(c.payment_id, status)
