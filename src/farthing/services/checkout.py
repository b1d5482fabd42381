"""Hosted checkout: a merchant asks to be paid (`create`: amount, description, where to send the payer
back), a payer opens the session's page and pays it once (`pay`, a payment whose reference is the
session and whose idempotency key derives from it, so a second click replays the first), and takes back
a receipt the merchant checks offline (`receipt`: Ed25519, `farthing.domain.receipts`).

The return URL must be on an origin the merchant registered beforehand (`set_origins`): a checkout
link cannot be made to send payers, with a receipt, to someone else's site.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from typing import Protocol

from farthing.clock import Clock
from farthing.domain import receipts
from farthing.domain.checkout import (
    ALLOWANCE_DAYS,
    LIFETIME_MS,
    ORIGINS_MAX,
    CheckoutSession,
    allowance_terms,
    origin_of,
)
from farthing.domain.money import Money, currency
from farthing.domain.policy.inputs import Evidence
from farthing.domain.principals import Principal, require
from farthing.errors import ErrorCode, PlatformError
from farthing.services.allowances import Allowances
from farthing.services.holds import Holds
from farthing.services.payments.model import Payment, PaymentItem
from farthing.services.payments.single import Payments

DESCRIPTION_MAX = 200
ORIGINS_FRESH_MS = 5_000


class CheckoutRepository(Protocol):
    def add(self, session: CheckoutSession) -> None: ...

    def get(self, session_id: str) -> CheckoutSession | None: ...

    def attach(self, session_id: str, customer: str, payment_id: str) -> bool:
        """Record who pays the session and with which payment, unless someone does already."""
        ...

    def set_allowance(self, session_id: str, allowance: str) -> None: ...

    def origins(self, merchant: str) -> list[str]: ...

    def set_origins(self, merchant: str, origins: Sequence[str]) -> None: ...

    def every_origin(self) -> set[str]:
        """The origins any merchant registered."""
        ...


class Checkout:
    def __init__(
        self, repo: CheckoutRepository, payments: Payments, holds: Holds, allowances: Allowances, receipt_seed: bytes,
        clock: Clock,
    ) -> None:  # fmt: skip
        self.repo = repo
        self.payments = payments
        self.allowances = allowances
        self.holds = holds
        self.seed = receipt_seed
        self.clock = clock
        self._origins: set[str] = set()
        self._origins_read_ms = -ORIGINS_FRESH_MS

    # -- the merchant ----------------------------------------------------------------------------

    def set_origins(self, principal: Principal, origins: Sequence[str]) -> list[str]:
        """The origins (`https://shop.example`) the merchant's payers may be sent back to, in place of any."""
        merchant = _merchant(principal)
        if len(origins) > ORIGINS_MAX:
            raise PlatformError(ErrorCode.validation_failed, f"at most {ORIGINS_MAX} origins")
        cleaned = sorted({origin_of(o) for o in origins})  # a path given is dropped: scheme, host and port
        self.repo.set_origins(merchant, cleaned)
        return cleaned

    def origins(self, principal: Principal) -> list[str]:
        return self.repo.origins(_merchant(principal))

    def registered(self, origin: str) -> bool:
        """Whether a merchant registered `origin` (its pages may call the API from a browser: CORS). Read
        again at most every `ORIGINS_FRESH_MS`, so a registration counts within seconds in every process."""
        now = self.clock()
        if now - self._origins_read_ms >= ORIGINS_FRESH_MS:
            self._origins, self._origins_read_ms = self.repo.every_origin(), now
        return origin in self._origins

    def registered_now(self, origin: str) -> bool | None:
        """`registered` from what is in memory, without I/O (for the event loop); None when it must be read."""
        if self.clock() - self._origins_read_ms >= ORIGINS_FRESH_MS:
            return None
        return origin in self._origins

    def create(self, principal: Principal, amount: Money, description: str, return_url: str) -> CheckoutSession:
        merchant = _merchant(principal)
        description = description.strip()
        if not 0 < len(description) <= DESCRIPTION_MAX or not description.isprintable():
            raise PlatformError(
                ErrorCode.validation_failed, f"a description is 1 to {DESCRIPTION_MAX} printable characters"
            )
        origin = origin_of(return_url)
        if origin not in self.repo.origins(merchant):
            raise PlatformError(
                ErrorCode.return_url_refused,
                f"{origin} is not one of your checkout origins: register it first (PUT /v1/checkout_origins)",
            )
        now = self.clock()
        session = CheckoutSession("cs_" + secrets.token_hex(12), merchant, principal.mode, amount.units,
                                  amount.currency.code, description, return_url, now, now + LIFETIME_MS)  # fmt: skip
        self.repo.add(session)
        return session

    def of_merchant(self, principal: Principal, session_id: str) -> CheckoutSession:
        found = self.repo.get(session_id)
        if found is None or found.merchant != _merchant(principal):
            raise PlatformError(ErrorCode.not_found, f"no checkout session {session_id!r}")
        return found

    # -- the payer -------------------------------------------------------------------------------

    def find(self, session_id: str) -> CheckoutSession:
        """The session, whoever asks (its page shows what it is for to anyone with the link)."""
        found = self.repo.get(session_id)
        if found is None:
            raise PlatformError(ErrorCode.not_found, f"no checkout session {session_id!r}")
        return found

    def open(self, session_id: str, mode: str) -> CheckoutSession:
        """The session as its page shows it to anyone with the link (of its mode)."""
        found = self.repo.get(session_id)
        if found is None or found.mode != mode:
            raise PlatformError(ErrorCode.not_found, f"no checkout session {session_id!r}")
        return found

    def pay(
        self, principal: Principal, session_id: str, allow: bool = False, evidence: Evidence | None = None
    ) -> Payment:
        """Pay the session from the payer's wallet (again: the same payment). A payment that waits for
        strong authentication is answered as such; the session is paid once it succeeds. With `allow`, the
        payer also lets the merchant charge it later without asking (`allowance_terms`). `evidence`: where
        the payer is, as the page saw it (the country of its IP address); its billing country is added."""
        require(principal, "customer", "payments:write")
        assert principal.party_id is not None
        session = self.open(session_id, principal.mode)
        if session.payment_id is not None and session.customer != principal.party_id:
            raise PlatformError(ErrorCode.checkout_paid, "someone paid this checkout already")
        if session.payment_id is None and self.clock() >= session.expires_ms:
            raise PlatformError(ErrorCode.checkout_expired, "this checkout expired; ask the merchant for a new one")
        item = PaymentItem(session.merchant, Money(session.amount_units, currency(session.currency)), session.id,
                           evidence=evidence)  # fmt: skip
        payment = self.payments.pay(principal, item, f"checkout:{session.id}")
        if not self.repo.attach(session.id, principal.party_id, payment.id):
            again = self.repo.get(session.id)
            if again is None or again.payment_id != payment.id:
                raise PlatformError(ErrorCode.checkout_paid, "someone paid this checkout already")
        if allow and session.allowance is None:
            cur = currency(session.currency)
            each, day, whole = (Money(u, cur) for u in allowance_terms(session.amount_units))
            granted = self.allowances.grant(principal, session.merchant, each, day, whole, ALLOWANCE_DAYS * 86_400)
            self.repo.set_allowance(session.id, granted.id)
        return payment

    def paid(self, principal: Principal, session: CheckoutSession) -> bool:
        """Whether the session's payment succeeded (a payment that waited for authentication, once answered)."""
        if session.payment_id is None:
            return False
        return self.holds.get(principal, session.payment_id).status == "succeeded"

    def receipt(self, principal: Principal, session_id: str) -> tuple[str, str]:
        """A receipt of the payer's paid session, signed now, and the return URL to carry it back to."""
        session = self.open(session_id, principal.mode)
        if session.customer != principal.party_id or not self.paid(principal, session):
            raise PlatformError(ErrorCode.not_found, f"no paid checkout {session_id!r} of yours")
        cur, now = currency(session.currency), self.clock()
        made = receipts.Receipt(session.id, str(session.payment_id), session.merchant, cur.format(session.amount_units),
                                cur.code, now, now + receipts.LIFETIME_MS, session.allowance)  # fmt: skip
        return receipts.sign(made, self.seed), session.return_url

    def receipt_key(self) -> tuple[str, bytes]:
        """The id and the Ed25519 public key that receipts are signed with."""
        public = receipts.public_key_of(self.seed)
        return receipts.key_id(public), public


def _merchant(principal: Principal) -> str:
    require(principal, "merchant", "payments:write")
    assert principal.party_id is not None
    return principal.party_id
