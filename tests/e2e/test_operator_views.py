"""An operator finds any merchant, customer or payment: parties listed newest first in pages with
filters (a customer's name stays sealed there), any party's payments listed, any payment read; and an
operator can look but not act on a payment."""

from __future__ import annotations

from decimal import Decimal

import calls

from .conftest import Server
from .helpers import auth, party, top_up


def _parties(srv: Server, kind: str, **params: object) -> dict:  # type: ignore[type-arg]
    r = calls.get(f"{srv.base}/v1/{kind}s", params=params, headers=auth(srv.operator))
    assert r.status_code == 200, r.text
    return dict(r.json())


def test_the_operator_lists_parties_newest_first_in_pages_with_filters(server: Server) -> None:
    made = []
    for n in range(3):
        r = calls.post(f"{server.base}/v1/merchants", json={"name": f"Shop {n}", "country": "KR" if n else "DE"},
                       headers=auth(server.operator))  # fmt: skip
        made.append(r.json()["id"])
    first = _parties(server, "merchant", limit=2)
    assert [m["id"] for m in first["data"]] == made[::-1][:2] and first["has_more"]
    assert first["data"][0]["name"] == "Shop 2" and first["data"][0]["status"] == "active"
    rest = _parties(server, "merchant", limit=2, starting_after=first["data"][-1]["id"])
    assert rest["data"][0]["id"] == made[0]
    korean = _parties(server, "merchant", country="KR", limit=100)["data"]
    assert {made[1], made[2]} <= {m["id"] for m in korean} and made[0] not in {m["id"] for m in korean}
    customer = calls.post(f"{server.base}/v1/customers", json={"name": "Sealed Name", "email": "s@example.test"},
                          headers=auth(server.operator)).json()  # fmt: skip
    listed = _parties(server, "customer", limit=1)["data"][0]
    assert listed["id"] == customer["id"] and listed["name"] is None and listed["object"] == "customer"
    unknown = calls.get(f"{server.base}/v1/merchants", params={"starting_after": "mer_nobody"},
                        headers=auth(server.operator))  # fmt: skip
    assert unknown.status_code == 404


def test_the_operator_finds_any_payment_and_cannot_act_on_it(server: Server) -> None:
    merchant, merchant_key = party(server, "merchant", "Looked at")
    customer, key = party(server, "customer", "Asking payer")
    top_up(server, key, "1.00")
    body = {"merchant": merchant, "amount": "0.10", "currency": "USD", "capture": False}
    held = calls.post(f"{server.base}/v1/payments", json=body, headers=auth(key)).json()
    seen = calls.get(f"{server.base}/v1/payments/{held['id']}", headers=auth(server.operator))
    assert (
        seen.status_code == 200 and seen.json()["status"] == "requires_capture" and seen.json()["customer"] == customer
    )
    listed = calls.get(f"{server.base}/v1/payments", params={"currency": "USD", "party": merchant},
                       headers=auth(server.operator))  # fmt: skip
    assert [p["id"] for p in listed.json()["data"]] == [held["id"]]
    unnamed = calls.get(f"{server.base}/v1/payments", params={"currency": "USD"}, headers=auth(server.operator))
    assert unnamed.status_code == 422 and "party=" in unnamed.json()["detail"]
    acting = calls.post(f"{server.base}/v1/payments/{held['id']}/void", headers=auth(server.operator))
    assert acting.status_code in (403, 404)
    others = calls.get(f"{server.base}/v1/payments", params={"currency": "USD", "party": customer},
                       headers=auth(merchant_key))  # fmt: skip
    assert others.status_code == 403


def test_the_operator_reads_the_platforms_own_accounts_moving_with_fees(server: Server) -> None:
    def accounts() -> dict[str, dict[str, str]]:
        r = calls.get(f"{server.base}/v1/platform/accounts/USD", headers=auth(server.operator))
        assert r.status_code == 200, r.text
        return {a["account"]: a for a in r.json()}

    before = accounts()
    assert set(before) == {
        "funding_clearing",
        "card_fees",
        "fee_revenue",
        "tax_liability",
        "rounding",
        "payouts_clearing",
        "disputes_clearing",
        "dispute_losses",
    }
    merchant, _ = party(server, "merchant", "Fee payer")
    _, key = party(server, "customer", "Fee source")
    top_up(server, key, "10.00")
    body = {"merchant": merchant, "amount": "1.00", "currency": "USD"}
    assert calls.post(f"{server.base}/v1/payments", json=body, headers=auth(key)).status_code == 201
    after = accounts()

    def moved(name: str, column: str) -> Decimal:
        return Decimal(after[name][column]) - Decimal(before[name][column])

    assert moved("fee_revenue", "credits_posted") == Decimal("0.02")  # the 2 % fee on 1.00
    assert moved("card_fees", "debits_posted") == Decimal("0.59")  # 2.9 % + 30¢ on the 10.00 top-up
    assert moved("funding_clearing", "debits_posted") == Decimal("10.00")
    customer_view = calls.get(f"{server.base}/v1/platform/accounts/USD", headers=auth(key))
    assert customer_view.status_code == 403


def test_the_operator_finds_payments_by_reference_across_parties(server: Server) -> None:
    """A customer quotes an order number: the operator finds every payment that carried it, whoever made or
    received it, with both parties named; newest first, in pages; other references are left out."""
    reference = f"order-{server.now_ms()}"  # this test's own, whatever the module's other tests paid
    shops = [party(server, "merchant", f"Shop {n}")[0] for n in range(2)]
    payers = [party(server, "customer", f"Payer {n}") for n in range(2)]
    made = []
    for (customer, key), shop in zip(payers, shops, strict=True):
        top_up(server, key, "1.00")
        for ref in (reference, "another-order"):
            body = {"merchant": shop, "amount": "0.10", "currency": "USD", "reference": ref}
            paid = calls.post(f"{server.base}/v1/payments", json=body, headers=auth(key))
            assert paid.status_code == 201, paid.text
            if ref == reference:
                made.append((paid.json()["id"], customer, shop))

    def search(**params: object) -> dict:  # type: ignore[type-arg]
        r = calls.get(f"{server.base}/v1/payments", params={"currency": "USD", **params}, headers=auth(server.operator))
        assert r.status_code == 200, r.text
        return dict(r.json())

    found = search(reference=reference)
    assert [(p["id"], p["customer"], p["merchant"]) for p in found["data"]] == made[::-1]
    assert all(p["reference"] == reference and p["status"] == "succeeded" for p in found["data"])
    first = search(reference=reference, limit=1)
    assert first["has_more"] and [p["id"] for p in first["data"]] == [made[1][0]]
    rest = search(page=first["next_page"], limit=1)
    assert [p["id"] for p in rest["data"]] == [made[0][0]] and not rest["has_more"]
    assert search(reference="nobody-quoted-this")["data"] == []
    params = {"currency": "USD", "reference": reference, "created_gte_ms": 0}
    timed = calls.get(f"{server.base}/v1/payments", params=params, headers=auth(server.operator))
    assert timed.status_code == 422
    # A customer's own list with a reference stays its own: the other payer's payment is not in it.
    own = calls.get(f"{server.base}/v1/payments", params={"currency": "USD", "reference": reference},
                    headers=auth(payers[0][1]))  # fmt: skip
    assert [p["id"] for p in own.json()["data"]] == [made[0][0]] and own.json()["data"][0]["customer"] is None
