"""One-click allowances: the payer lets a merchant charge its wallet, without asking each time, within
an amount per payment, per day and in total, until a moment, revocable at any time.

A charge within the allowance is a merchant-initiated payment under the payer's mandate: no
interaction, out of SCA's scope (the policy counts it toward the payer's limits and the tax base as a
captured payment). The total and each UTC day's room are headroom accounts in the counter ledger,
drawn on in the charge's linked chain, so an allowance holds even between server processes and
concurrent charges. A charge outside the allowance (too large, past the day's or the total's room,
expired, revoked) is not refused outright: it becomes a payment that waits for the payer's strong
authentication, as any payment the policy steps up (refused when the payer has no second factor).
"""

from __future__ import annotations

import dataclasses
import secrets
from dataclasses import dataclass
from typing import Protocol

from farthing import limits
from farthing.clock import Clock
from farthing.domain.allowances import Allowance
from farthing.domain.money import Currency, Money, currency
from farthing.domain.policy.evaluate import Evidence
from farthing.domain.principals import Principal, require_scope
from farthing.errors import ErrorCode, PlatformError
from farthing.services.amounts import positive_units
from farthing.services.parties import Parties
from farthing.services.payments.model import Payment, PaymentItem
from farthing.services.payments.single import Payments
from farthing.services.rooms import drawn, pay_within

DAY_MS = 86_400_000


@dataclass(frozen=True, slots=True)
class Charge:
    payment: Payment
    within: bool
    """False: the charge was outside the allowance and waits for the payer's authentication."""
    reason: str | None = None


class AllowanceRepository(Protocol):
    def add(self, allowance: Allowance) -> None: ...

    def get(self, allowance_id: str) -> Allowance | None: ...

    def of_party(self, party_id: str, limit: int) -> list[Allowance]:
        """The allowances the party granted or holds, newest first."""
        ...

    def revoke(self, allowance_id: str, now_ms: int) -> None: ...


class Allowances:
    def __init__(self, repo: AllowanceRepository, clock: Clock, parties: Parties, payments: Payments) -> None:
        self.repo = repo
        self.clock = clock
        self.parties = parties
        self.payments = payments
        self.policy = payments.policy

    def grant(
        self, principal: Principal, merchant: str, per_payment: Money, per_day: Money, total: Money,
        expires_in_s: int, evidence: Evidence | None = None,
    ) -> Allowance:  # fmt: skip
        """The payer lets `merchant` charge it within these amounts (parsed where the request came in, in
        one currency) until `expires_in_s` from now."""
        if principal.kind != "customer" or principal.party_id is None or "payments:write" not in principal.scopes:
            raise PlatformError(ErrorCode.forbidden, "a customer key with payments:write grants allowances")
        cur = per_payment.currency
        if not per_day.currency == total.currency == cur:
            raise PlatformError(ErrorCode.currency_mismatch, "an allowance's amounts are in one currency")
        each, day, whole = per_payment.units, per_day.units, total.units
        if not each <= day <= whole:
            raise PlatformError(ErrorCode.validation_failed, "need per_payment <= per_day <= total")
        if not 0 < expires_in_s <= limits.allowance_s_max:
            raise PlatformError(ErrorCode.validation_failed, f"an allowance lasts 1 to {limits.allowance_s_max} s")
        self.parties.check(merchant, "merchant", principal.mode)
        now = self.clock()
        e = evidence or Evidence()
        a = Allowance("alw_" + secrets.token_hex(12), principal.party_id, merchant, cur.code, each, day, whole, e,
                      now, now + expires_in_s * 1000, None)  # fmt: skip
        self.repo.add(a)
        return a

    def get(self, principal: Principal, allowance_id: str) -> Allowance:
        found = self.repo.get(allowance_id)
        if found is None or principal.party_id not in (found.customer, found.merchant):
            raise PlatformError(ErrorCode.not_found, f"no allowance {allowance_id!r}")
        return found

    def list(self, principal: Principal) -> list[Allowance]:
        if principal.party_id is None:
            raise PlatformError(ErrorCode.forbidden, "an operator key has no allowances")
        return self.repo.of_party(principal.party_id, limits.page_size_max)

    def spent(self, a: Allowance) -> tuple[int, int]:
        """What its merchant charged under the allowance this UTC day and in all (units), as the ledger's
        headroom accounts for it count: charges that waited for the payer are not drawn from it."""
        total, day = drawn(self.payments, _rooms(a, self.clock()))
        return day, total

    def revoke(self, principal: Principal, allowance_id: str) -> Allowance:
        """The payer withdraws the allowance: from now on every charge on it waits for the payer."""
        a = self.get(principal, allowance_id)
        if principal.party_id != a.customer:
            raise PlatformError(ErrorCode.forbidden, "only the payer revokes its allowance")
        now = self.clock()
        self.repo.revoke(a.id, now)
        return self.get(principal, allowance_id)

    def charge(
        self, principal: Principal, allowance_id: str, amount: object, reference: str | None, key: str | None
    ) -> Charge:
        """The merchant charges the payer under the allowance: at once when within it, else a payment
        that waits for the payer's strong authentication."""
        a = self.get(principal, allowance_id)
        if principal.party_id != a.merchant or principal.kind != "merchant":
            raise PlatformError(ErrorCode.forbidden, "only the allowance's merchant charges it")
        require_scope(principal, "payments:write")
        cur = currency(a.currency)
        units = positive_units(cur, amount)
        payer = Principal(f"allowance:{a.id}", "customer", a.customer, principal.mode, frozenset({"payments:write"}))
        profile = self.parties.profile(a.customer)
        item = PaymentItem(a.merchant, Money(units, cur), reference,
                           evidence=dataclasses.replace(a.evidence, billing=profile.country),
                           allowance_use=min(1.0, units / a.per_payment))  # fmt: skip
        idem = f"{a.id}:{key}" if key else None
        now = self.clock()
        outside = None
        if a.status(now) != "active":
            outside = f"the allowance is {a.status(now)}"
        elif units > a.per_payment:
            outside = f"more than the allowance's {cur.format(a.per_payment)} a payment"
        if outside is None:
            try:
                made = self._within(a, cur, payer, item, idem, units, now)
            except _Outside as over:
                outside = over.reason
            else:
                return Charge(made, True)
        return Charge(self._waiting(payer, item, idem, outside or "outside the allowance"), False, outside)

    def _within(
        self, a: Allowance, cur: Currency, payer: Principal, item: PaymentItem, key: str | None, units: int, now: int
    ) -> Payment:
        payment, full = pay_within(self.payments, payer, item, key, _rooms(a, now), stage="capture")
        if full is not None:
            raise _Outside("past the allowance's room for the day or in total")
        return payment

    def _waiting(self, payer: Principal, item: PaymentItem, key: str | None, reason: str) -> Payment:
        """A charge outside the allowance: a payment held until the payer authenticates it."""
        p = self.payments
        if p.step_ups is None or not p.step_ups.ready(payer.party_id or ""):
            raise PlatformError(ErrorCode.authentication_required, f"{reason}; the payer has no second factor")
        legs, payment, event, _ = p.legs.build(payer, item, key, waits=True)
        results = p.ledger.submit("transfers", legs, [(0, event)]).result()
        return p.finish(payment, results)  # type: ignore[arg-type]


def _rooms(a: Allowance, now_ms: int) -> list[tuple[str, str, int]]:
    """(kind, name, cap) of the allowance's total and this UTC day's room."""
    return [("allowance-total", a.id, a.total), ("allowance-day", f"{a.id}:{now_ms // DAY_MS}", a.per_day)]


class _Outside(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


__all__ = ["Allowances", "Charge"]
