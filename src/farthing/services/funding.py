"""Funding gateways: how money enters a wallet from outside (a card charge for a top-up).

`FundingGateway` is the protocol a real processor adapter implements: two-phase, like card networks.
`authorize` reserves the amount on the card (the same `reference` answers the same authorisation, as a
processor's idempotency key does), `capture` takes it once the ledger has booked the top-up, `release`
gives it back when the ledger refused. `TestGateway` answers by test card number, deterministically,
and charges what a card processor would (2.9 % + 30¢, Stripe's US standard price per
`docs/sources.md` §6) so that the platform's costs are real.
"""

from __future__ import annotations

import dataclasses
import threading
from typing import Protocol

from farthing.domain.funding import Charge, ChargeStatus
from farthing.domain.money import Currency, allocate


class FundingGateway(Protocol):
    modes: frozenset[str]
    """The modes it takes money in: a test gateway's cards are never live money."""
    takes: str
    """What identifies the card: "card_number" (the test cards) or "payment_method" (a processor's token)."""

    def authorize(self, card_number: str, amount_units: int, currency: Currency, reference: str) -> Charge:
        """Reserve the amount; the same reference answers the first authorisation again."""
        ...

    def capture(self, reference: str) -> Charge:
        """Take what was authorised (again: the same answer)."""
        ...

    def release(self, reference: str) -> None:
        """Give back an authorisation that will not be captured."""
        ...


TEST_CARD_SUCCEEDS = "4242424242424242"
TEST_CARD_DECLINED = "4000000000000002"
TEST_CARD_NEEDS_AUTHENTICATION = "4000002500003155"


class TestGateway:
    __test__ = False  # a test double for processors, not a test case
    """Deterministic test cards; any other number is declined. Remembers its authorisations in memory."""

    modes = frozenset({"test"})
    takes = "card_number"
    fee_ppm = 29_000
    fee_fixed_cents = 30

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.charges: dict[str, Charge] = {}
        self.released: set[str] = set()

    def authorize(self, card_number: str, amount_units: int, currency: Currency, reference: str) -> Charge:
        with self._lock:
            if reference in self.charges:
                return self.charges[reference]
            if card_number == TEST_CARD_NEEDS_AUTHENTICATION:
                return Charge(ChargeStatus.authentication_required, 0, reference)
            if card_number != TEST_CARD_SUCCEEDS:
                return Charge(ChargeStatus.declined, 0, reference)
            proportional, _ = allocate(amount_units, [self.fee_ppm, 1_000_000 - self.fee_ppm])
            fixed = self.fee_fixed_cents * 10 ** (currency.scale - 2) if currency.exponent == 2 else 0
            charge = Charge(ChargeStatus.succeeded, proportional + fixed, reference, amount_units)
            self.charges[reference] = charge
            return charge

    def capture(self, reference: str) -> Charge:
        with self._lock:
            charge = dataclasses.replace(self.charges[reference], captured=True)
            self.charges[reference] = charge
            return charge

    def release(self, reference: str) -> None:
        with self._lock:
            self.charges.pop(reference, None)
            self.released.add(reference)


class ByMode:
    """A gateway per mode (the test cards for test money, a processor's live key for live money): each
    top-up goes to its mode's, and test and live money never meet."""

    def __init__(self, *gateways: FundingGateway) -> None:
        self._by: dict[str, FundingGateway] = {}
        for gateway in gateways:
            for mode in gateway.modes:
                if mode in self._by:
                    raise ValueError(f"two gateways for {mode} mode")
                self._by[mode] = gateway
        self.modes = frozenset(self._by)

    def for_mode(self, mode: str) -> FundingGateway | None:
        return self._by.get(mode)

    takes = "card_number"
    """Unused: each top-up asks its mode's gateway (`for_mode`)."""
