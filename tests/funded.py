"""A merchant and a payer with 1.00 USD, made through a platform's services in process (no HTTP)."""

from __future__ import annotations

from farthing.bootstrap import Platform
from farthing.domain.principals import Principal
from farthing.services.amounts import positive_money


def merchant_and_payer(platform: Platform) -> tuple[str, Principal]:
    """A new merchant's id, and a new customer (as its principal) whose USD wallet holds 1.00."""
    operator = Principal("op", "operator", None, "test", frozenset({"parties:write"}))
    merchant, _, _ = platform.parties.create(operator, "merchant", "m")
    customer, key, _ = platform.parties.create(operator, "customer", "c")
    payer = Principal(key, "customer", customer, "test", frozenset({"payments:write", "topups:write"}))
    platform.topups.top_up(payer, positive_money("1.00", "USD"), "4242424242424242")
    return merchant, payer
