"""Risk over HTTP: each payment's answer carries its score; a payment that looks like a takeover (another
device and network, a merchant new to the payer, far above its usual) is refused with the engine's
reasons and lands in the operator's review queue; labels are taken once, for payments that exist, and
refused with clear errors otherwise."""

from __future__ import annotations

import re

import pytest

import calls

from .conftest import Server
from .helpers import auth, party, signed_in_operator, top_up

pytestmark = pytest.mark.parametrize("server", ["sqlite"], indirect=True)
"""One store: the review and label tables are plain rows (both stores: the migrations' own tests)."""

HOME = {"User-Agent": "reader-laptop/1.0", "X-Forwarded-For": "203.0.113.9"}
AWAY = {"User-Agent": "unknown-phone/9.9", "X-Forwarded-For": "198.51.100.7"}


def test_a_takeover_is_refused_reviewed_and_labelled_once(server: Server) -> None:
    shop, _ = party(server, "merchant", "Usual Shop")
    far, _ = party(server, "merchant", "Far Shop")
    _, key = party(server, "customer", "Reader")
    top_up(server, key, "60.00")
    paid = []
    for i in range(30):
        body = {"merchant": shop, "amount": f"0.{10 + i % 3}", "currency": "USD"}
        r = calls.post(f"{server.base}/v1/payments", json=body, headers={**auth(key), **HOME})
        assert r.status_code == 201, r.text
        assert r.json()["risk"] == {"score": 0, "outcome": "allow", "reasons": []}
        paid.append(r.json()["id"])
    odd = {"merchant": far, "amount": "40.00", "currency": "USD"}
    refused = calls.post(f"{server.base}/v1/payments", json=odd, headers={**auth(key), **AWAY})
    assert refused.status_code == 402, refused.text
    assert refused.json()["code"] == "authentication_required"
    assert "the risk analysis scored this payment 75 of 100" in refused.json()["detail"]
    assert (
        calls.get(f"{server.base}/v1/wallets/USD", headers=auth(key)).json()["available"] == "56.70"
    )  # 60 - 3.30: nothing taken

    console, csrf = signed_in_operator(server)  # the console's queue holds it, with a button a label
    try:
        shown = console.get("/console")
        assert shown.status_code == 200 and 'data-testid="risk-reviews"' in shown.text
        assert "a new device, network and merchant at once" in shown.text
        [waiting] = re.findall(r'action="/console/risk/(pay_\w+)/label"', shown.text)
        refused_form = console.post(f"/console/risk/{waiting}/label", data={"csrf_token": csrf, "verdict": "maybe"})
        assert refused_form.status_code == 400
        forged = console.post(f"/console/risk/{waiting}/label", data={"verdict": "fraud"})
        assert forged.status_code in (400, 403)  # no CSRF token: nothing kept
        kept = console.post(f"/console/risk/{waiting}/label", data={"csrf_token": csrf, "verdict": "fraud"})
        assert kept.status_code == 303 and kept.headers["location"] == "/console?labelled=1#risk"
        after = console.get(kept.headers["location"]).text
        assert "The label is kept: the model learns from it." in after and f"/console/risk/{waiting}/" not in after
        late = console.post(f"/console/risk/{waiting}/label", data={"csrf_token": csrf, "verdict": "honest"})
        assert late.status_code == 409 and "labelled already" in late.text
    finally:
        console.close()

    op = auth(server.operator)
    queue = calls.get(f"{server.base}/v1/risk/reviews", headers=op)
    assert queue.status_code == 200, queue.text
    [review] = [r for r in queue.json()["data"] if r["merchant"] == far]
    assert (review["score"], review["outcome"], review["amount"]) == (75, "step_up", "40.00")
    assert [x["rule"] for x in review["reasons"]] == ["risk.takeover", "risk.amount_outlier"]

    assert review["payment"] == waiting
    label = review["label"]  # labelled from the console above: fraud, on a payment that was never made
    assert (label["fraud"], label["paid"], label["source"], label["amount"]) == (True, False, "operator", "40.00")
    again = calls.post(f"{server.base}/v1/risk/labels", json={"payment": waiting, "fraud": False}, headers=op)
    assert (again.status_code, again.json()["code"]) == (409, "already_labelled")
    [seen] = [r for r in calls.get(f"{server.base}/v1/risk/reviews", headers=op).json()["data"] if r["merchant"] == far]
    assert seen["label"]["fraud"] is True  # the first label stands

    honest = calls.post(f"{server.base}/v1/risk/labels", json={"payment": paid[0], "fraud": False}, headers=op)
    assert honest.status_code == 201, honest.text
    assert (honest.json()["paid"], honest.json()["amount"], honest.json()["currency"]) == (True, "0.10", "USD")
    got = calls.get(f"{server.base}/v1/payments/{paid[0]}", headers=auth(key)).json()
    assert got["risk"] == {"score": 0, "outcome": "allow", "reasons": []}  # as its event recorded it


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"payment": "pay_" + "a" * 26, "fraud": True}, 404, "not_found"),
        ({"payment": "pay_nope", "fraud": True}, 404, "not_found"),
        ({"payment": "pay_" + "a" * 26, "fraud": "yes"}, 422, "validation_failed"),
        ({"payment": "pay_" + "a" * 26}, 422, "validation_failed"),
        ({"payment": "pay_" + "a" * 26, "fraud": True, "note": "x" * 501}, 422, "validation_failed"),
    ],
)
def test_a_label_that_cannot_be_taken_is_refused_clearly(
    server: Server, body: dict[str, object], status: int, code: str
) -> None:
    r = calls.post(f"{server.base}/v1/risk/labels", json=body, headers=auth(server.operator))
    assert (r.status_code, r.json()["code"]) == (status, code), r.text
    assert r.headers["content-type"] == "application/problem+json"
