"""Top-ups: a customer funds its wallet by card.

In two phases: the card is authorised, the ledger books the top-up with the processor's fee, then the
card is captured (released if the ledger refused). A velocity guard pauses the top-ups of a customer
whose cards keep being declined (card testing); its attempts live behind `TopUpAttemptRepository`
(SQL: `farthing.adapters.topups_sql`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from farthing.clock import Clock
from farthing.domain.funding import ChargeStatus
from farthing.domain.ledger_types import Transfer, TransferFlags
from farthing.domain.money import Money
from farthing.domain.principals import Principal, require
from farthing.domain.risk.velocity import Velocity
from farthing.engine.committer import GroupCommitter
from farthing.engine.ids import derive_id, new_id
from farthing.errors import ErrorCode, PlatformError, TransferResult
from farthing.services.accounts import (
    CODE_CARD_FEES,
    CODE_FUNDING_CLEARING,
    T_CARD_FEE,
    T_TOPUP,
    Accounts,
    public_id_of,
)
from farthing.services.funding import ByMode, FundingGateway
from farthing.services.idempotency import InFlight
from farthing.services.security_log import SecurityLog


@dataclass(frozen=True, slots=True)
class TopUp:
    id: str
    amount: int
    """In units of the currency's ledger, as `processor_fee`: formatted when answered."""
    processor_fee: int
    currency: str
    replayed: bool = False
    status: str = "captured"
    """captured, or requires_action: the card wants the payer's challenge first (3-D Secure); nothing is
    booked until the same top-up is asked again after it."""
    client_secret: str | None = None
    """With requires_action: for the payer's page to run the processor's challenge."""


class TopUpAttemptRepository(Protocol):
    def record(self, party_id: str, at_ms: int, declined: bool, forget_before_ms: int) -> None:
        """Keep an attempt, forgetting the party's attempts at or before `forget_before_ms`."""
        ...

    def since(self, party_id: str, after_ms: int) -> list[tuple[int, bool]]:
        """The party's attempts after `after_ms`: (at_ms, declined)."""
        ...

    def declined_since(self, after_ms: int, limit: int) -> list[str]:
        """The parties with a declined attempt after `after_ms`, the latest declined first."""
        ...

    def forget(self, party_id: str) -> None:
        """Forget every attempt of the party."""
        ...


@dataclass(frozen=True, slots=True)
class Pause:
    party_id: str
    until_ms: int
    reason: str


class TopUps:
    def __init__(
        self, accounts: Accounts, ledger: GroupCommitter, gateway: FundingGateway, attempts: TopUpAttemptRepository,
        log: SecurityLog, in_flight: InFlight, clock: Clock, guard: Velocity | None = None,
        tried: Callable[[str, bool, int], None] | None = None,
    ) -> None:  # fmt: skip
        """`guard` pauses the top-ups of a customer whose cards keep being declined (None: no guard);
        `tried` hears of each card tried (party, declined, when): the risk engine's card-testing signal."""
        self.accounts = accounts
        self.ledger = ledger
        self.gateway = gateway
        self.attempts = attempts
        self.log = log
        self.in_flight = in_flight
        self.clock = clock
        self.guard = guard
        self.tried = tried

    def top_up(self, principal: Principal, amount: Money, source: str, idempotency_key: str | None = None) -> TopUp:
        """Fund the customer's wallet by card with `amount` (parsed where the request came in:
        `farthing.services.amounts.positive_money`); `source` is a test card's number or a processor's
        payment method (pm_…). With an `Idempotency-Key`, a retry finds the same authorisation and the same
        transfers (and, after a 3-D Secure challenge, the authorisation it completed)."""
        require(principal, "customer", "topups:write")
        assert principal.party_id is not None
        gateway = self.gateway.for_mode(principal.mode) if isinstance(self.gateway, ByMode) else self.gateway
        if gateway is None or principal.mode not in gateway.modes:
            raise PlatformError(
                ErrorCode.live_mode_unavailable,
                f"this server's card gateway takes {' and '.join(sorted(self.gateway.modes))} mode only: no "
                f"{principal.mode} top-up was made (a {principal.mode} gateway must be configured first)",
            )
        cur, units = amount.currency, amount.units
        if units % 10 ** (cur.scale - cur.exponent):
            raise PlatformError(ErrorCode.amount_too_precise, f"a card is charged in whole {cur.code} minor units")
        wallet = self.accounts.wallet_account(principal.party_id, "customer", cur)
        topup_id = derive_id("topup", principal.party_id, idempotency_key) if idempotency_key else new_id()
        public = public_id_of("top_", topup_id)
        with self.in_flight.claim(principal.party_id, "topup", idempotency_key):
            self._check_guard(principal.party_id)
            charge = gateway.authorize(source, units, cur, public)
            now, declined = self.clock(), charge.status is ChargeStatus.declined
            if self.guard is not None:  # kept while the guard may still read it, no longer
                self.attempts.record(principal.party_id, now, declined, now - self.guard.lookback_ms)
            if self.tried is not None:
                self.tried(principal.party_id, declined, now)
            if charge.status is ChargeStatus.declined:
                raise PlatformError(ErrorCode.card_declined, "the card was declined; nothing was charged")
            if charge.status is ChargeStatus.authentication_required and charge.client_secret:
                return TopUp(public, units, 0, cur.code, status="requires_action", client_secret=charge.client_secret)
            if charge.status is ChargeStatus.authentication_required:
                raise PlatformError(ErrorCode.card_authentication_required, "the card needs strong authentication")
            if charge.amount_units != units:
                raise PlatformError(
                    ErrorCode.idempotency_key_reused, "this Idempotency-Key was used for a top-up of another amount"
                )
            clearing = self.accounts.platform_account(CODE_FUNDING_CLEARING, cur, principal.mode)
            fees = self.accounts.platform_account(CODE_CARD_FEES, cur, principal.mode)
            legs = [Transfer(topup_id, clearing, wallet, units, cur.ledger, T_TOPUP, flags=int(TransferFlags.linked))]
            fee_id = derive_id("card-fee", str(topup_id))
            legs.append(Transfer(fee_id, fees, clearing, charge.fee_units, cur.ledger, T_CARD_FEE))
            results = self.ledger.create_transfers(legs if charge.fee_units else legs[:1])
            replayed = all(r is TransferResult.exists for r in results)
            if any(r.name.startswith("exists_with_different") for r in results):
                # The key's top-up is booked for another amount (a server process that did not authorise
                # the first knew nothing of it until the ledger said so): nothing more is charged.
                gateway.release(public)
                raise PlatformError(
                    ErrorCode.idempotency_key_reused, "this Idempotency-Key was used for a top-up of another amount"
                )
            if not replayed and any(r is not TransferResult.ok for r in results):
                gateway.release(public)
                raise PlatformError(
                    ErrorCode.engine_failed, f"the top-up could not be booked: {[r.name for r in results]}"
                )
            gateway.capture(public)
        return TopUp(public, units, charge.fee_units, cur.code, replayed)

    def takes(self, mode: str) -> str | None:
        """What a top-up in `mode` is paid with: "card_number" (test cards), "payment_method" (a processor's
        token made in the payer's browser), or None (no gateway takes that mode's money)."""
        gateway = self.gateway.for_mode(mode) if isinstance(self.gateway, ByMode) else self.gateway
        return gateway.takes if gateway is not None and mode in gateway.modes else None

    def paused(self, principal: Principal, limit: int = 50) -> list[Pause]:
        """For an operator: the customers whose declined cards pause their top-ups now, latest first."""
        require(principal, "operator", "read")
        guard = self.guard
        if guard is None:
            return []
        now = self.clock()
        out = []
        for party_id in self.attempts.declined_since(now - guard.lookback_ms, limit):
            verdict = guard.assess(self.attempts.since(party_id, now - guard.lookback_ms), now)
            if not verdict.allowed:
                out.append(Pause(party_id, verdict.until_ms, verdict.reason))
        return out

    def resume(self, principal: Principal, party_id: str) -> None:
        """An operator lifts a customer's pause (its card attempts are forgotten); logged."""
        require(principal, "operator", "parties:write")
        self.attempts.forget(party_id)
        self.log.record("topups.resumed", party_id, principal.key_id)

    def _check_guard(self, party_id: str) -> None:
        """Refuse a top-up while the velocity guard pauses the customer's (card testing)."""
        guard = self.guard
        if guard is None:
            return
        now = self.clock()
        verdict = guard.assess(self.attempts.since(party_id, now - guard.lookback_ms), now)
        if not verdict.allowed:
            # Logged once per pause: a tester's every refused try would grow the log.
            if not self.log.logged_since(party_id, "topups.paused", verdict.until_ms - guard.pause_ms):
                self.log.record("topups.paused", party_id, None, until_ms=verdict.until_ms)
            wait_s = -(-(verdict.until_ms - now) // 1000)
            raise PlatformError(ErrorCode.topups_paused, f"{verdict.reason}; try again in {wait_s} s")
