"""Wallet history over HTTP: transactions with cursors that keep their filters, balances at a past
moment, payments found by the merchant's reference, expired holds, a payment's fee read back."""

from __future__ import annotations

import time
from decimal import Decimal

import calls

from .conftest import Server
from .helpers import auth, party, top_up


def _pay(srv: Server, key: str, merchant: str, amount: str, **extra: object) -> dict[str, str]:
    body = {"merchant": merchant, "amount": amount, "currency": "USD", **extra}
    r = calls.post(f"{srv.base}/v1/payments", json=body, headers=auth(key))
    assert r.status_code == 201, r.text
    answer: dict[str, str] = r.json()
    return answer


def _lines(srv: Server, key: str, **params: object) -> dict[str, object]:
    r = calls.get(f"{srv.base}/v1/wallets/USD/transactions", params=params, headers=auth(key))  # type: ignore[arg-type]
    assert r.status_code == 200, r.text
    body: dict[str, object] = r.json()
    return body


def test_transactions_pages_balances_and_references(server: Server) -> None:
    merchant, merchant_key = party(server, "merchant", "Gazette")
    _, key = party(server, "customer", "Reader")
    top_up(server, key, "1.00")
    paid = [_pay(server, key, merchant, "0.001", reference=f"article-{i % 3}") for i in range(7)]

    # Newest first; every line says what it was and the balance after it.
    first = _lines(server, key, limit=3)
    data = first["data"]
    assert isinstance(data, list) and [d["type"] for d in data] == ["payment"] * 3
    assert [d["payment"] for d in data] == [p["id"] for p in reversed(paid[-3:])]
    assert [d["available"] for d in data] == ["0.993", "0.994", "0.995"]
    assert data[0]["amount"] == "-0.001" and data[0]["reference"] == "article-0"
    assert first["has_more"] is True

    # Pages follow each other without gaps or repeats, down to the top-up.
    seen = [d["id"] for d in data]
    page = first
    while page["has_more"]:
        page = _lines(server, key, page=page["next_page"])
        seen += [d["id"] for d in page["data"]]  # type: ignore[union-attr]
    assert len(seen) == len(set(seen)) == 8
    assert page["data"][-1]["type"] == "topup" and page["data"][-1]["amount"] == "1.00"  # type: ignore[index]

    # A filter is kept by the page token; a token with other filters beside it is refused.
    by_ref = _lines(server, merchant_key, reference="article-1", limit=1)
    refs = [by_ref]
    while refs[-1]["has_more"]:
        refs.append(_lines(server, merchant_key, page=refs[-1]["next_page"]))
    found = [d for r in refs for d in r["data"]]  # type: ignore[attr-defined]
    assert [d["payment"] for d in found] == [paid[4]["id"], paid[1]["id"]]
    assert all(d["reference"] == "article-1" and d["amount"] == "0.001" for d in found)
    mixed = calls.get(
        f"{server.base}/v1/wallets/USD/transactions",
        params={"page": by_ref["next_page"], "type": "payment"},
        headers=auth(merchant_key),
    )
    assert (mixed.status_code, mixed.json()["code"]) == (422, "page_invalid")
    forged = calls.get(f"{server.base}/v1/wallets/USD/transactions", params={"page": "bm9wZQ"}, headers=auth(key))
    assert (forged.status_code, forged.json()["code"]) == (422, "page_invalid")

    # The merchant sees its fee lines too, tied to their payments.
    fees = _lines(server, merchant_key, type="platform_fee", limit=100)["data"]
    assert len(fees) == 7 and {d["payment"] for d in fees} == {p["id"] for p in paid}  # type: ignore[union-attr]
    got = calls.get(f"{server.base}/v1/payments/{paid[0]['id']}", headers=auth(merchant_key)).json()
    assert (got["fee"], got["reference"]) == ("0.00002", "article-0")

    # Balances at a moment: before the top-up nothing, after it the sum of what came before.
    lines = _lines(server, key, limit=100)["data"]
    topup_ms = lines[-1]["created_ms"]  # type: ignore[index]
    at = calls.get(f"{server.base}/v1/wallets/USD", params={"at_ms": topup_ms - 1}, headers=auth(key)).json()
    assert at["available"] == "0.00"
    now = calls.get(f"{server.base}/v1/wallets/USD", params={"at_ms": server.now_ms()}, headers=auth(key))
    assert now.json()["available"] == "0.993"
    assert calls.get(f"{server.base}/v1/wallets/USD", headers=auth(key)).json()["available"] == "0.993"


def test_holds_lines_and_expired_holds(server: Server) -> None:
    merchant, merchant_key = party(server, "merchant", "Garage")
    _, key = party(server, "customer", "Driver")
    top_up(server, key, "5.00")
    captured = _pay(server, key, merchant, "2.00", capture=False, reference="pump-1")
    r = calls.post(f"{server.base}/v1/payments/{captured['id']}/capture", json={"amount": "1.50"},
                   headers=auth(merchant_key))  # fmt: skip
    assert r.status_code == 200, r.text
    expiring = _pay(server, key, merchant, "1.00", capture=False, hold_expires_s=1)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        got = calls.get(f"{server.base}/v1/payments/{expiring['id']}", headers=auth(key)).json()
        if got["status"] == "expired":
            break
        time.sleep(0.2)
    # A payment after the expiry makes the ledger record it even if nothing else runs.
    _pay(server, key, merchant, "0.01")
    expired = _lines(server, key, type="hold_expired")["data"]
    assert [(d["payment"], d["amount"], d["pending"]) for d in expired] == [(expiring["id"], "0.00", "-1.00")]  # type: ignore[union-attr]
    holds = _lines(server, key, type=["hold", "capture"])["data"]
    assert [(d["type"], d["amount"], d["pending"]) for d in holds] == [  # type: ignore[union-attr]
        ("hold", "0.00", "1.00"),
        ("capture", "-1.50", "-2.00"),
        ("hold", "0.00", "2.00"),
    ]
    assert holds[-1]["reference"] == "pump-1"  # type: ignore[index]
    got = calls.get(f"{server.base}/v1/payments/{captured['id']}", headers=auth(merchant_key)).json()
    assert (got["amount"], got["fee"], got["reference"]) == ("1.50", "0.03", "pump-1")
    # The wallet's lines add up to its balance.
    lines = _lines(server, key, limit=100)["data"]
    total = sum(Decimal(d["amount"]) for d in lines)  # type: ignore[union-attr]
    assert str(total) == calls.get(f"{server.base}/v1/wallets/USD", headers=auth(key)).json()["available"]


def test_history_refusals(server: Server) -> None:
    _, key = party(server, "customer", "Nobody")
    r = calls.get(f"{server.base}/v1/wallets/USD/transactions", headers=auth(key))
    assert (r.status_code, r.json()["code"]) == (404, "not_found")
    top_up(server, key, "1.00")
    for params, code in (
        ({"type": "bogus"}, "validation_failed"),
        ({"limit": 0}, "validation_failed"),
        ({"limit": 101}, "validation_failed"),
        ({"starting_after": "txn_x"}, "not_found"),
    ):
        r = calls.get(f"{server.base}/v1/wallets/USD/transactions", params=params, headers=auth(key))
        assert r.json()["code"] == code, (params, r.text)
    r = calls.get(f"{server.base}/v1/wallets/EUR/transactions", headers=auth(key))
    assert (r.status_code, r.json()["code"]) == (404, "not_found")
    r = calls.get(f"{server.base}/v1/wallets/XYZ", headers=auth(key))
    assert (r.status_code, r.json()["code"]) == (422, "currency_unknown")
