"""Readiness on a real store: the store answers, the history projection keeps within its lag bound, the
webhook dispatcher runs; each check that fails is named."""

from __future__ import annotations

from farthing.bootstrap import open_platform
from farthing.services.health import Health
from farthing.services.payments.model import PaymentItem
from funded import merchant_and_payer


def test_readiness_names_what_is_not_ready(store_url: str) -> None:
    platform = open_platform(store_url)
    try:
        health = Health(platform.ledger.engine.store, platform.history, platform.webhooks, lag_max=10)
        first = health.readiness()
        assert not first.ready and first.checks["store"]["ok"] and not first.checks["webhooks"]["ok"]
        platform.webhooks.start()
        merchant, payer = merchant_and_payer(platform)
        for _ in range(10):
            platform.payments.pay(payer, PaymentItem.of(merchant, "0.01", "USD"), None)
        behind = health.readiness()
        assert not behind.ready and behind.checks["history"]["lag_events"] > 10  # nothing folded yet
        platform.history.catch_up()
        ready = health.readiness()
        assert ready.ready and ready.checks["history"]["lag_events"] == 0, ready.checks
    finally:
        platform.close()
