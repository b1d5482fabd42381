"""Webhook delivery on fakes: events from an endpoint's creation on, signed as Standard Webhooks says,
in order with exponential backoff, skipped after the endpoint's last attempt, redelivered on request,
every attempt logged; endpoints belong to merchants."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from fakes_delivery import FakeWebhookRows, ScriptedSender
from standardwebhooks import Webhook

from farthing.clock import ManualClock
from farthing.domain.principals import Principal
from farthing.errors import ErrorCode, PlatformError
from farthing.services.webhooks import Webhooks

MERCHANT = Principal("key_m", "merchant", "mer_1", "test", frozenset({"webhooks:write", "read"}))
OTHER = Principal("key_o", "merchant", "mer_2", "test", frozenset({"webhooks:write", "read"}))


def _webhooks(*answers: int | None) -> tuple[Webhooks, FakeWebhookRows, ScriptedSender, ManualClock]:
    clock, rows, sender = ManualClock(1_800_000_000_000), FakeWebhookRows(), ScriptedSender(*answers)
    return Webhooks(rows, sender, attempts_max=3, backoff_ms=1000, clock_ms=clock), rows, sender, clock


def test_an_endpoint_gets_its_merchants_events_from_its_creation_on_signed() -> None:
    webhooks, rows, sender, clock = _webhooks()
    rows.record("evt_before", "mer_1", '{"n":0}')
    endpoint, secret = webhooks.create_endpoint(MERCHANT, "https://m.example/hook")
    rows.record("evt_1", "mer_1", '{"n":1}')
    rows.record("evt_theirs", "mer_2", '{"n":2}')
    rows.record("evt_2", "mer_1", '{"n":3}')
    assert webhooks.deliver_due() == 2 and webhooks.deliver_due() == 0
    assert [h["webhook-id"] for _, _, h in sender.posts] == ["evt_1", "evt_2"]
    url, body, headers = sender.posts[0]
    assert url == "https://m.example/hook" and headers["webhook-timestamp"] == str(clock() // 1000)
    sent_at = datetime.fromtimestamp(int(headers["webhook-timestamp"]), UTC)
    assert headers["webhook-signature"] == Webhook(secret).sign("evt_1", sent_at, body)  # the spec's library
    assert [(a.event_id, a.status_code) for a in webhooks.attempts(MERCHANT, endpoint)] == [
        ("evt_1", 200),
        ("evt_2", 200),
    ]


def test_a_failing_endpoint_waits_longer_each_time_keeps_order_and_gives_up_after_its_last_attempt() -> None:
    webhooks, rows, sender, clock = _webhooks(500, None, 503, 200)
    endpoint, _ = webhooks.create_endpoint(MERCHANT, "https://m.example/hook")
    rows.record("evt_1", "mer_1", "{}")
    rows.record("evt_2", "mer_1", "{}")
    assert webhooks.deliver_due() == 0  # 500: evt_2 waits behind evt_1
    clock.advance(999)
    assert webhooks.deliver_due() == 0 and len(sender.posts) == 1  # not due yet
    clock.advance(1)
    assert webhooks.deliver_due() == 0  # unreachable: the wait doubles
    clock.advance(1999)
    assert webhooks.deliver_due() == 0 and len(sender.posts) == 2
    clock.advance(1)
    assert webhooks.deliver_due() == 1  # evt_1's third and last attempt fails (503): skipped; evt_2 goes
    log = [(a.event_id, a.attempt, a.status_code, a.error) for a in webhooks.attempts(MERCHANT, endpoint)]
    assert log == [("evt_1", 1, 500, "HTTP 500"), ("evt_1", 2, None, "ConnectError: refused"),
                   ("evt_1", 3, 503, "HTTP 503"), ("evt_2", 1, 200, None)]  # fmt: skip


def test_a_merchant_asks_for_one_of_its_events_again() -> None:
    webhooks, rows, _, _ = _webhooks()
    endpoint, _ = webhooks.create_endpoint(MERCHANT, "https://m.example/hook")
    rows.record("evt_1", "mer_1", "{}")
    rows.record("evt_theirs", "mer_2", "{}")
    webhooks.deliver_due()
    webhooks.redeliver(MERCHANT, endpoint, "evt_1")
    assert webhooks.deliver_due() == 1 and webhooks.deliver_due() == 0
    assert [a.manual for a in webhooks.attempts(MERCHANT, endpoint)] == [False, True]
    for who, event, code in ((MERCHANT, "evt_theirs", ErrorCode.not_found), (OTHER, "evt_1", ErrorCode.not_found)):
        with pytest.raises(PlatformError) as refused:
            webhooks.redeliver(who, endpoint, event)
        assert refused.value.code is code
    with pytest.raises(PlatformError) as unseen:
        webhooks.attempts(OTHER, endpoint)
    assert unseen.value.code is ErrorCode.not_found


@pytest.mark.parametrize(
    ("principal", "url", "attempts_max", "code"),
    [
        (Principal("k", "customer", "cus_1", "test", frozenset({"read"})), "https://x", None, ErrorCode.forbidden),
        (Principal("k", "merchant", "mer_1", "test", frozenset({"read"})), "https://x", None, ErrorCode.forbidden),
        (MERCHANT, "ftp://x", None, ErrorCode.validation_failed),
        (MERCHANT, "https://x", 0, ErrorCode.validation_failed),
        (MERCHANT, "https://x", 10_000, ErrorCode.validation_failed),
    ],
)
def test_endpoints_are_a_merchants_with_an_http_url_and_bounded_attempts(
    principal: Principal, url: str, attempts_max: int | None, code: ErrorCode
) -> None:
    webhooks, rows, _, _ = _webhooks()
    with pytest.raises(PlatformError) as refused:
        webhooks.create_endpoint(principal, url, attempts_max)
    assert refused.value.code is code and rows.endpoints == {}


def test_an_endpoint_takes_only_the_event_types_it_asked_for_and_moves_past_the_rest() -> None:
    webhooks, rows, sender, _ = _webhooks()
    endpoint, _ = webhooks.create_endpoint(MERCHANT, "https://m.example/hook", events=["refund.created"])
    rows.record("evt_paid", "mer_1", '{"n":1}')
    rows.record("evt_refunded", "mer_1", '{"n":2}', "refund.created")
    rows.record("evt_paid_again", "mer_1", '{"n":3}')
    assert webhooks.deliver_due() == 1 and webhooks.deliver_due() == 0  # nothing left behind to retry
    assert [h["webhook-id"] for _, _, h in sender.posts] == ["evt_refunded"]
    with pytest.raises(PlatformError) as unknown:
        webhooks.create_endpoint(MERCHANT, "https://m.example/hook", events=["payment.refunded"])
    assert unknown.value.code is ErrorCode.validation_failed and "refund.created" in unknown.value.detail
    assert [e.id for e in webhooks.endpoints(MERCHANT)] == [endpoint] and webhooks.endpoints(OTHER) == []


def test_a_changed_endpoint_gets_what_is_left_at_its_new_url_and_a_deleted_one_nothing() -> None:
    webhooks, rows, sender, _ = _webhooks()
    endpoint, _ = webhooks.create_endpoint(MERCHANT, "https://old.example/hook")
    rows.record("evt_1", "mer_1", '{"n":1}')
    changed = webhooks.change_endpoint(MERCHANT, endpoint, "https://new.example/hook", None)
    assert changed.url == "https://new.example/hook" and changed.events == ()
    assert webhooks.deliver_due() == 1 and sender.posts[0][0] == "https://new.example/hook"
    with pytest.raises(PlatformError) as theirs:
        webhooks.change_endpoint(OTHER, endpoint, None, ["refund.created"])
    assert theirs.value.code is ErrorCode.not_found
    webhooks.delete_endpoint(MERCHANT, endpoint)
    rows.record("evt_2", "mer_1", '{"n":2}')
    assert webhooks.deliver_due() == 0 and len(sender.posts) == 1
    with pytest.raises(PlatformError) as gone:
        webhooks.delete_endpoint(MERCHANT, endpoint)
    assert gone.value.code is ErrorCode.not_found


def test_the_backlog_and_the_attempts_are_counted_for_metrics() -> None:
    webhooks, rows, _, clock = _webhooks(500, 200, 200)
    webhooks.create_endpoint(MERCHANT, "https://m.example/hook")
    rows.record("evt_1", "mer_1", '{"n":1}')
    rows.record("evt_2", "mer_1", '{"n":2}')
    assert webhooks.backlog() == 2
    webhooks.deliver_due()  # the first attempt fails: both wait
    assert webhooks.backlog() == 2 and webhooks.attempted == {True: 0, False: 1}
    clock.advance(1000)
    webhooks.deliver_due()
    assert webhooks.backlog() == 0 and webhooks.attempted == {True: 2, False: 1}
