"""Readiness on a real store: the store answers, the history projection keeps within its lag bound, the
webhook dispatcher runs; each check that fails is named."""

from __future__ import annotations

from farthing.bootstrap import open_platform
from farthing.domain.principals import Principal
from farthing.services.amounts import positive_money
from farthing.services.health import Health
from farthing.services.payments.model import PaymentItem


def test_readiness_names_what_is_not_ready(store_url: str) -> None:
    platform = open_platform(store_url)
    try:
        health = Health(platform.ledger.engine.store, platform.history, platform.webhooks, lag_max=10)
        first = health.readiness()
        assert not first.ready and first.checks["store"]["ok"] and not first.checks["webhooks"]["ok"]
        platform.webhooks.start()
        operator = Principal("op", "operator", None, "test", frozenset({"parties:write"}))
        merchant, _, _ = platform.parties.create(operator, "merchant", "m")
        customer, key, _ = platform.parties.create(operator, "customer", "c")
        payer = Principal(key, "customer", customer, "test", frozenset({"payments:write", "topups:write"}))
        platform.topups.top_up(payer, positive_money("1.00", "USD"), "4242424242424242")
        for _ in range(10):
            platform.payments.pay(payer, PaymentItem.of(merchant, "0.01", "USD"), None)
        behind = health.readiness()
        assert not behind.ready and behind.checks["history"]["lag_events"] > 10  # nothing folded yet
        platform.history.catch_up()
        ready = health.readiness()
        assert ready.ready and ready.checks["history"]["lag_events"] == 0, ready.checks
    finally:
        platform.close()
