"""`/metrics` parses as Prometheus' text format, is the operator's, and moves with what the server does:
payments by outcome, refusals by code, ledger batches; every answer carries a Request-Id."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

import calls

from .conftest import Server
from .helpers import auth, party, top_up


def _samples(srv: Server) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    r = calls.get(f"{srv.base}/metrics", headers=auth(srv.operator))
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain"), r.text
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(r.text)
        for s in family.samples
    }


def _value(samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def test_metrics_move_with_payments_and_refusals(server: Server) -> None:
    merchant, _ = party(server, "merchant", "metrics shop")
    _, key = party(server, "customer", "metrics reader")
    top_up(server, key, "1.00")
    before = _samples(server)
    body = {"merchant": merchant, "amount": "0.01", "currency": "USD"}
    for _ in range(3):
        assert calls.post(f"{server.base}/v1/payments", json=body, headers=auth(key)).status_code == 201
    refused = calls.post(f"{server.base}/v1/payments", json={**body, "amount": "5.00"}, headers=auth(key))
    assert refused.status_code == 402
    after = _samples(server)

    def moved(name: str, **labels: str) -> float:
        return _value(after, name, **labels) - _value(before, name, **labels)

    assert moved("farthing_payment_requests_total", outcome="succeeded", code="") == 3
    assert moved("farthing_payment_requests_total", outcome="refused", code="insufficient_funds") == 1
    assert moved("farthing_http_refusals_total", route="/v1/payments", code="insufficient_funds") == 1
    assert moved("farthing_http_requests_total", method="POST", route="/v1/payments", status="201") == 3
    assert moved("farthing_http_request_seconds_count", method="POST", route="/v1/payments") == 4
    assert moved("farthing_risk_assessments_total", outcome="allow") == 4  # the one refused for funds too
    assert moved("farthing_ledger_batches_total") >= 3  # each payment waited for its own batch
    assert moved("farthing_ledger_head_seq") >= 6  # a payment and its fee, three times
    assert _value(after, "farthing_ledger_commit_seconds_count") == _value(after, "farthing_ledger_batches_total")
    assert _value(after, "farthing_history_lag_events") >= 0
    assert _value(after, "farthing_webhook_backlog_events") >= 0  # read from the store, so known
    assert ("farthing_webhook_attempts_total", frozenset({("outcome", "delivered")})) in after


def test_metrics_are_the_operators_and_every_answer_has_a_request_id(server: Server) -> None:
    _, key = party(server, "customer", "curious")
    denied = calls.get(f"{server.base}/metrics", headers=auth(key))
    assert denied.status_code == 403 and denied.json()["code"] == "forbidden"
    assert denied.headers["request-id"].startswith("req_")
    echoed = calls.get(f"{server.base}/v1/wallets", headers={**auth(key), "Request-Id": "trace-42"})
    assert echoed.headers["request-id"] == "trace-42"
    odd = calls.get(f"{server.base}/v1/wallets", headers={**auth(key), "Request-Id": "a b\tc"})
    assert odd.headers["request-id"].startswith("req_")  # not a token: a new id, never the caller's text
