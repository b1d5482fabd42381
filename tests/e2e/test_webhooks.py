"""Webhooks end to end: events written with the money movements arrive signed, in order, retried after
failures, verified here with the independent `standardwebhooks` package, and logged per attempt."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import time_machine
from standardwebhooks import Webhook, WebhookVerificationError

import calls

from .conftest import Server
from .helpers import auth, party, top_up


class Receiver:
    """A merchant's endpoint on this machine: fails its first `failures` requests, then accepts."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # the name http.server calls
                body = self.rfile.read(int(self.headers["content-length"]))
                with receiver.lock:
                    fail = receiver.failures > 0
                    receiver.failures -= fail
                    if not fail:
                        receiver.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(500 if fail else 204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/hooks"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def verified(server: Server, secret: str, body: bytes, headers: dict[str, str]) -> dict[str, object]:
    """The delivery checked as the merchant would, its tolerance for the timestamp read against the
    server's clock (moved to the middle of the month for these tests)."""
    with time_machine.travel(server.now_ms() / 1000, tick=False):
        found: dict[str, object] = Webhook(secret).verify(body, headers)
    return found


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver(failures=2)
    yield r
    r.close()


def test_events_arrive_signed_in_order_after_retries(server: Server, receiver: Receiver) -> None:
    merchant, merchant_key = party(server, "merchant", "Hooked")
    _, key = party(server, "customer", "Payer")
    r = calls.post(f"{server.base}/v1/webhook_endpoints", json={"url": receiver.url}, headers=auth(merchant_key))
    assert r.status_code == 201, r.text
    endpoint, secret = r.json()["id"], r.json()["secret"]
    assert secret.startswith("whsec_")
    top_up(server, key, "1.00")

    def pay(amount: str, **extra: object) -> dict[str, str]:
        body = {"merchant": merchant, "amount": amount, "currency": "USD", **extra}
        return calls.post(f"{server.base}/v1/payments", json=body, headers=auth(key)).json()

    paid = [pay("0.01")["id"] for _ in range(3)]
    refused = pay("5.00")
    assert refused["code"] == "insufficient_funds"
    held, dropped = pay("0.20", capture=False)["id"], pay("0.10", capture=False)["id"]
    calls.post(f"{server.base}/v1/payments/{held}/capture", headers=auth(merchant_key)).raise_for_status()
    calls.post(f"{server.base}/v1/payments/{dropped}/void", headers=auth(merchant_key)).raise_for_status()

    expected = 3 + 2 + 1 + 1  # payments, holds placed, the capture, the void
    deadline = time.monotonic() + 30
    while len(receiver.received) < expected and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)  # nothing more, and nothing twice, should follow
    events = [verified(server, secret, body, headers) for headers, body in receiver.received]
    assert [(e["type"], e["data"]["id"]) for e in events] == [
        *(("payment.succeeded", p) for p in paid),
        ("payment.requires_capture", held),
        ("payment.requires_capture", dropped),
        ("payment.succeeded", held),
        ("payment.canceled", dropped),
    ]
    assert len({headers["webhook-id"] for headers, _ in receiver.received}) == expected
    assert json.loads(receiver.received[0][1])["data"]["amount"] == "0.01"
    with pytest.raises(WebhookVerificationError):  # a tampered body must not verify
        verified(server, secret, receiver.received[0][1].replace(b"0.01", b"9.99"), receiver.received[0][0])

    attempts = calls.get(f"{server.base}/v1/webhook_endpoints/{endpoint}/attempts", headers=auth(merchant_key)).json()
    first = [a for a in attempts if a["event_id"] == attempts[0]["event_id"]]
    assert [(a["attempt"], a["status_code"], a["error"]) for a in first] == [
        (1, 500, "HTTP 500"),
        (2, 500, "HTTP 500"),
        (3, 204, None),
    ]
    assert len(attempts) == expected + 2
    other = calls.get(f"{server.base}/v1/webhook_endpoints/{endpoint}/attempts", headers=auth(key))
    assert other.status_code == 404


def test_retries_are_configurable_and_a_skipped_event_can_be_redelivered(server: Server, receiver: Receiver) -> None:
    merchant, merchant_key = party(server, "merchant", "Impatient")
    _, key = party(server, "customer", "Payer")
    body = {"url": receiver.url, "attempts_max": 2}
    r = calls.post(f"{server.base}/v1/webhook_endpoints", json=body, headers=auth(merchant_key))
    assert r.status_code == 201 and r.json()["attempts_max"] == 2, r.text
    endpoint, secret = r.json()["id"], r.json()["secret"]
    top_up(server, key, "1.00")
    paid = []
    for _ in range(2):
        answer = calls.post(f"{server.base}/v1/payments", json={"merchant": merchant, "amount": "0.01",
                            "currency": "USD"}, headers=auth(key))  # fmt: skip
        paid.append(answer.json()["id"])
    deadline = time.monotonic() + 30
    while not receiver.received and time.monotonic() < deadline:
        time.sleep(0.05)
    # Two failed attempts used up the first event's budget: it was skipped, the second arrived.
    assert [verified(server, secret, b, h)["data"]["id"] for h, b in receiver.received] == [paid[1]]
    attempts_url = f"{server.base}/v1/webhook_endpoints/{endpoint}/attempts"
    attempts = calls.get(attempts_url, headers=auth(merchant_key)).json()
    skipped = attempts[0]["event_id"]
    assert [(a["attempt"], a["status_code"], a["manual"]) for a in attempts if a["event_id"] == skipped] == [
        (1, 500, False),
        (2, 500, False),
    ]

    url = f"{server.base}/v1/webhook_endpoints/{endpoint}/redeliver"
    r = calls.post(url, json={"event_id": skipped}, headers=auth(merchant_key))
    assert r.status_code == 202 and r.json()["status"] == "queued", r.text
    while len(receiver.received) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [verified(server, secret, b, h)["data"]["id"] for h, b in receiver.received] == [paid[1], paid[0]]
    attempts = calls.get(attempts_url, headers=auth(merchant_key)).json()
    assert (attempts[-1]["event_id"], attempts[-1]["status_code"], attempts[-1]["manual"]) == (skipped, 204, True)

    # Only the merchant's own events, on its own endpoints.
    _, other_key = party(server, "merchant", "Other")
    r = calls.post(url, json={"event_id": skipped}, headers=auth(other_key))
    assert (r.status_code, r.json()["code"]) == (404, "not_found")
    r = calls.post(url, json={"event_id": "evt_nope"}, headers=auth(merchant_key))
    assert (r.status_code, r.json()["code"]) == (404, "not_found")
    r = calls.post(f"{server.base}/v1/webhook_endpoints", json={**body, "attempts_max": 0}, headers=auth(merchant_key))
    assert (r.status_code, r.json()["code"]) == (422, "validation_failed")


def test_endpoints_are_listed_filtered_moved_and_deleted(server: Server) -> None:
    merchant, merchant_key = party(server, "merchant", "Managed hooks")
    _, key = party(server, "customer", "Payer")
    top_up(server, key, "1.00")
    first, second = Receiver(failures=0), Receiver(failures=0)
    try:
        made = calls.post(f"{server.base}/v1/webhook_endpoints", headers=auth(merchant_key),
                          json={"url": first.url, "events": ["payment.canceled"]})  # fmt: skip
        assert made.status_code == 201 and made.json()["events"] == ["payment.canceled"], made.text
        endpoint = made.json()["id"]
        listed = calls.get(f"{server.base}/v1/webhook_endpoints", headers=auth(merchant_key)).json()
        assert [(e["id"], e["url"], e["events"]) for e in listed] == [(endpoint, first.url, ["payment.canceled"])]
        assert "secret" not in listed[0]

        body = {"merchant": merchant, "amount": "0.10", "currency": "USD"}
        calls.post(f"{server.base}/v1/payments", json=body, headers=auth(key)).raise_for_status()
        hold = calls.post(f"{server.base}/v1/payments", json={**body, "capture": False}, headers=auth(key)).json()
        calls.post(f"{server.base}/v1/payments/{hold['id']}/void", headers=auth(merchant_key)).raise_for_status()
        deadline = time.monotonic() + 30
        while not first.received and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)
        assert [json.loads(b)["type"] for _, b in first.received] == ["payment.canceled"]  # nothing else

        moved = calls.patch(f"{server.base}/v1/webhook_endpoints/{endpoint}", headers=auth(merchant_key),
                            json={"url": second.url, "events": []})  # fmt: skip
        assert moved.status_code == 200 and moved.json()["events"] == [] and moved.json()["url"] == second.url
        calls.post(f"{server.base}/v1/payments", json=body, headers=auth(key)).raise_for_status()
        deadline = time.monotonic() + 30
        while not second.received and time.monotonic() < deadline:
            time.sleep(0.05)
        assert [json.loads(b)["type"] for _, b in second.received] == ["payment.succeeded"]

        gone = calls.delete(f"{server.base}/v1/webhook_endpoints/{endpoint}", headers=auth(merchant_key))
        assert gone.status_code == 200 and gone.json()["deleted"] is True
        calls.post(f"{server.base}/v1/payments", json=body, headers=auth(key)).raise_for_status()
        time.sleep(0.5)
        assert len(second.received) == 1 and calls.get(f"{server.base}/v1/webhook_endpoints",
                                                        headers=auth(merchant_key)).json() == []  # fmt: skip
        unknown = calls.post(f"{server.base}/v1/webhook_endpoints", headers=auth(merchant_key),
                             json={"url": first.url, "events": ["payment.refunded"]})  # fmt: skip
        assert unknown.status_code == 422
    finally:
        first.close()
        second.close()
