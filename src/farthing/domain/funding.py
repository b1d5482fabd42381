"""A card charge as a funding gateway answers it (`farthing.services.funding.FundingGateway`): plain values
that the gateways (the test one, `farthing.adapters.stripe_gateway`) and the top-ups share."""

from __future__ import annotations

import enum
from dataclasses import dataclass


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
    amount_units: int = 0
    captured: bool = False
    client_secret: str | None = None
    """With `authentication_required`: what the payer's page needs to run the processor's challenge."""
