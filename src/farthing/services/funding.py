"""Funding gateways: how money enters a wallet from outside (a card charge for a top-up).

`FundingGateway` is the protocol a real processor adapter implements; `TestGateway` answers by test
card number, deterministically, and charges what a card processor would (2.9 % + 30¢, Stripe's US
standard price per `shared/reference/protocol-facts.md` §4) so that the platform's costs are real.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Protocol

from farthing.domain.money import Currency, allocate


class ChargeStatus(enum.Enum):
    succeeded = "succeeded"
    declined = "declined"
    authentication_required = "authentication_required"


@dataclass(frozen=True, slots=True)
class Charge:
    status: ChargeStatus
    fee_units: int
    """What the processor keeps, in ledger units of the charge's currency."""
    reference: str


class FundingGateway(Protocol):
    def charge(self, card_number: str, amount_units: int, currency: Currency, reference: str) -> Charge: ...


TEST_CARD_SUCCEEDS = "4242424242424242"
TEST_CARD_DECLINED = "4000000000000002"
TEST_CARD_NEEDS_AUTHENTICATION = "4000002500003155"


class TestGateway:
    __test__ = False  # a test double for processors, not a test case
    """Deterministic test cards; any other number is declined."""

    fee_ppm = 29_000
    fee_fixed_cents = 30

    def charge(self, card_number: str, amount_units: int, currency: Currency, reference: str) -> Charge:
        if card_number == TEST_CARD_NEEDS_AUTHENTICATION:
            return Charge(ChargeStatus.authentication_required, 0, reference)
        if card_number != TEST_CARD_SUCCEEDS:
            return Charge(ChargeStatus.declined, 0, reference)
        proportional, _ = allocate(amount_units, [self.fee_ppm, 1_000_000 - self.fee_ppm])
        fixed = self.fee_fixed_cents * 10 ** (currency.scale - 2) if currency.exponent == 2 else 0
        return Charge(ChargeStatus.succeeded, proportional + fixed, reference)
