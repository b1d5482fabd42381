"""Top-ups through Stripe's API (the `StripeGateway` on the official SDK), against a local fake that
answers as Stripe's reference documents and checks every request's shape: a card authorised, booked and
captured; a declined card books nothing; a card that wants 3-D Secure answers requires_action with the
client secret, and the same top-up asked again after the challenge is booked once; a card number is never
sent; live and test keys serve their own mode only. With STRIPE_TEST_SECRET_KEY set, the same against
Stripe's test mode itself."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from fake_stripe import FakeStripe
from farthing.adapters.stripe_gateway import StripeGateway
from farthing.bootstrap import open_platform
from farthing.domain.principals import Principal
from farthing.errors import ErrorCode, PlatformError
from farthing.services.amounts import positive_money
from farthing.services.funding import ByMode, TestGateway
from farthing.services.processor_events import ProcessorEvents

OPERATOR = Principal("op", "operator", None, "test", frozenset({"parties:write", "read"}))


@pytest.fixture
def fake() -> Iterator[FakeStripe]:
    server = FakeStripe()
    yield server
    server.close()


def _wallet(platform: object, payer: Principal) -> int:
    wallet, _ = platform.accounts.wallet_of_party(payer.party_id, "EUR")  # type: ignore[attr-defined]
    [state] = platform.ledger.accounts([wallet])  # type: ignore[attr-defined]
    return int(state.credits_posted - state.debits_posted)


def _payer(platform: object, mode: str = "test") -> Principal:
    cid, key, _ = platform.parties.create(OPERATOR, "customer", "Leser")  # type: ignore[attr-defined]
    return Principal(key, "customer", cid, mode, frozenset({"topups:write", "payments:write", "read"}))


def test_a_top_up_through_stripe_is_authorised_booked_and_captured(tmp_path: Path, fake: FakeStripe) -> None:
    gateway = StripeGateway("sk_test_fake", api_base=fake.url)
    platform = open_platform(f"sqlite:///{tmp_path}/ledger.db", gateway=gateway)
    try:
        payer = _payer(platform)
        done = platform.topups.top_up(payer, positive_money("10.00", "EUR"), "pm_card_visa", "t1")
        assert (done.status, done.amount, done.processor_fee) == ("captured", 10_000_000, 590_000)  # 2.9 % + 30¢
        [intent] = fake.intents.values()
        assert (intent["amount"], intent["currency"], intent["status"]) == (1000, "eur", "succeeded")
        assert intent["metadata"] == {"topup": done.id}
        again = platform.topups.top_up(payer, positive_money("10.00", "EUR"), "pm_card_visa", "t1")
        assert again.replayed and len(fake.intents) == 1 and _wallet(platform, payer) == 10_000_000
        with pytest.raises(PlatformError) as declined:
            platform.topups.top_up(payer, positive_money("10.00", "EUR"), "pm_card_chargeDeclined")
        assert declined.value.code is ErrorCode.card_declined
        with pytest.raises(PlatformError) as raw:
            platform.topups.top_up(payer, positive_money("10.00", "EUR"), "4242424242424242")
        assert raw.value.code is ErrorCode.validation_failed and "never as a card number" in raw.value.detail
        assert _wallet(platform, payer) == 10_000_000  # nothing from the refused ones
        assert fake.problems == []
        assert all("4242424242424242" not in str(form) for _, _, form in fake.requests)
    finally:
        platform.close()


def test_a_card_that_wants_3ds_is_booked_after_the_challenge(tmp_path: Path, fake: FakeStripe) -> None:
    platform = open_platform(f"sqlite:///{tmp_path}/ledger.db", gateway=StripeGateway("sk_test_fake", fake.url))
    try:
        payer = _payer(platform)
        first = platform.topups.top_up(payer, positive_money("5.00", "EUR"), "pm_card_authenticationRequired", "k")
        [intent] = fake.intents.values()
        assert (first.status, first.client_secret) == ("requires_action", intent["client_secret"])
        assert _wallet(platform, payer) == 0  # nothing booked before the challenge
        fake.authenticate(str(intent["id"]))
        done = platform.topups.top_up(payer, positive_money("5.00", "EUR"), "pm_card_authenticationRequired", "k")
        assert done.status == "captured" and _wallet(platform, payer) == 5_000_000
        assert intent["status"] == "succeeded" and len(fake.intents) == 1 and fake.problems == []
    finally:
        platform.close()


def test_live_and_test_money_go_to_their_own_gateway(tmp_path: Path, fake: FakeStripe) -> None:
    with pytest.raises(PlatformError):
        StripeGateway("rk_live_restricted")
    live = StripeGateway("sk_live_fake", fake.url)
    assert live.modes == {"live"} and StripeGateway("sk_test_fake", fake.url).modes == {"test"}
    platform = open_platform(f"sqlite:///{tmp_path}/ledger.db", gateway=ByMode(TestGateway(), live))
    try:
        tested = platform.topups.top_up(_payer(platform), positive_money("1.00", "EUR"), "4242424242424242")
        assert tested.status == "captured" and fake.requests == []  # test money never reaches Stripe
    finally:
        platform.close()


@pytest.mark.skipif(not os.environ.get("STRIPE_TEST_SECRET_KEY"), reason="set STRIPE_TEST_SECRET_KEY for Stripe itself")
def test_against_stripes_own_test_mode(tmp_path: Path) -> None:  # pragma: no cover - needs a key and the internet
    gateway = StripeGateway(os.environ["STRIPE_TEST_SECRET_KEY"])
    platform = open_platform(f"sqlite:///{tmp_path}/ledger.db", gateway=gateway)
    try:
        payer = _payer(platform)
        done = platform.topups.top_up(payer, positive_money("1.00", "EUR"), "pm_card_visa", "smoke")
        assert done.status == "captured" and _wallet(platform, payer) == 1_000_000
    finally:
        platform.close()


def _signed(payload: bytes, secret: str, at: int) -> str:
    """Stripe's signature scheme: HMAC-SHA256 of "timestamp.payload" with the endpoint's secret."""
    mac = hmac.new(secret.encode(), f"{at}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={at},v1={mac}"


def test_the_processors_events_are_checked_and_recorded(tmp_path: Path) -> None:
    platform = open_platform(f"sqlite:///{tmp_path}/ledger.db")
    try:
        event = {"id": "evt_1", "object": "event", "type": "charge.dispute.created", "api_version": "2025-01-27",
                 "data": {"object": {"id": "dp_1", "object": "dispute", "amount": 1000, "status": "needs_response",
                                     "metadata": {"topup": "top_1"}}}}  # fmt: skip
        payload = json.dumps(event).encode()
        with pytest.raises(PlatformError) as unset:
            ProcessorEvents(platform.log, None).receive(payload, "t=1,v1=00")
        assert unset.value.code is ErrorCode.processor_unavailable
        events = ProcessorEvents(platform.log, "whsec_test")
        now = int(time.time())
        assert events.receive(payload, _signed(payload, "whsec_test", now)) == ("evt_1", "charge.dispute.created")
        for signature in (_signed(payload, "whsec_other", now), _signed(payload + b" ", "whsec_test", now),
                          _signed(payload, "whsec_test", now - 3600), None):  # fmt: skip
            with pytest.raises(PlatformError) as refused:
                events.receive(payload, signature)
            assert refused.value.code is ErrorCode.validation_failed
        recorded = [json.loads(detail) for _, kind, _, _, detail in platform.log.recent(OPERATOR, 10)
                    if kind == "processor.event"]  # fmt: skip
        assert recorded == [{"amount": 1000, "event": "evt_1", "object": "dp_1", "status": "needs_response",
                             "topup": "top_1", "type": "charge.dispute.created"}]  # fmt: skip
    finally:
        platform.close()
