"""`GET /v1/payments`: a customer lists what it paid, a merchant what it received, newest first, in pages
that keep their filters; a hold shows its status now; nobody sees another party's payments."""

from __future__ import annotations

import calls

from .conftest import Server
from .helpers import auth, party, top_up


def _list(srv: Server, key: str, **params: object) -> dict:  # type: ignore[type-arg]
    r = calls.get(f"{srv.base}/v1/payments", params={"currency": "USD", **params}, headers=auth(key))
    assert r.status_code == 200, r.text
    return dict(r.json())


def test_owners_list_their_payments_newest_first_in_pages(server: Server) -> None:
    merchant, merchant_key = party(server, "merchant", "List shop")
    other, other_key = party(server, "merchant", "Other shop")
    _, key = party(server, "customer", "List payer")
    top_up(server, key, "5.00")
    made = []
    for n in range(5):
        body = {"merchant": merchant, "amount": f"0.0{n + 1}", "currency": "USD", "reference": f"order-{n % 2}"}
        r = calls.post(f"{server.base}/v1/payments", json=body, headers=auth(key))
        assert r.status_code == 201, r.text
        made.append(r.json()["id"])
    held = calls.post(f"{server.base}/v1/payments", json={"merchant": merchant, "amount": "0.50", "currency": "USD",
                                                          "capture": False}, headers=auth(key)).json()  # fmt: skip
    calls.post(f"{server.base}/v1/payments", json={"merchant": other, "amount": "0.07", "currency": "USD"},
               headers=auth(key))  # fmt: skip

    first = _list(server, key, limit=4)
    assert first["has_more"] and len(first["data"]) == 4
    assert first["data"][1]["id"] == held["id"]  # newest first: the payment to the other shop, then the hold
    assert first["data"][1]["status"] == "requires_capture" and first["data"][1]["capture"] is False
    assert first["data"][1]["amount"] == "0.50"
    rest = _list(server, key, page=first["next_page"])
    assert not rest["has_more"] and [p["id"] for p in rest["data"]] == made[:3][::-1]
    assert all(p["status"] == "succeeded" and p["object"] == "payment" for p in rest["data"])

    received = _list(server, merchant_key)
    assert {p["id"] for p in received["data"]} == {*made, held["id"]}  # not the other shop's
    assert next(p["id"] for p in _list(server, other_key)["data"]) not in made
    tagged = _list(server, merchant_key, reference="order-1")
    assert [p["id"] for p in tagged["data"]] == [made[3], made[1]] and tagged["data"][0]["amount"] == "0.04"

    calls.post(f"{server.base}/v1/payments/{held['id']}/capture", json={"amount": "0.20"}, headers=auth(key))
    now = next(p for p in _list(server, key)["data"] if p["id"] == held["id"])
    assert now["status"] == "succeeded" and now["amount"] == "0.50"  # the line as made; its status now


def test_the_list_is_refused_where_it_means_nothing(server: Server) -> None:
    _, key = party(server, "customer", "No wallet")
    none = calls.get(f"{server.base}/v1/payments", params={"currency": "EUR"}, headers=auth(key))
    assert none.status_code == 404 and none.json()["code"] == "not_found"
    operator = calls.get(f"{server.base}/v1/payments", params={"currency": "USD"}, headers=auth(server.operator))
    assert operator.status_code == 422 and "party=" in operator.json()["detail"]  # whose, it must say
    top_up(server, key, "1.00")
    forged = calls.get(f"{server.base}/v1/payments", params={"currency": "USD", "page": "e30"}, headers=auth(key))
    assert forged.status_code == 422 and forged.json()["code"] == "page_invalid"
