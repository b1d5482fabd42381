"""The policy on the payment path, over HTTP: a server deciding EUR payments by the `eu-de` pack and
KRW payments by the `kr` pack. Refusals move nothing and say why; counters hold under concurrency."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

import calls
from served import serve

from .conftest import Server
from .helpers import auth

SERVER_ENV = {"FARTHING_POLICIES": "eu-de,kr"}


def _party(srv: Server, kind: str, **profile: str) -> tuple[str, str]:
    r = calls.post(f"{srv.base}/v1/{kind}s", json={"name": kind, **profile}, headers=auth(srv.operator))
    assert r.status_code == 201, r.text
    return r.json()["id"], r.json()["api_key"]["secret"]


def _fund(srv: Server, key: str, amount: str, cur: str) -> None:
    r = calls.post(f"{srv.base}/v1/topups", json={"amount": amount, "currency": cur, "card_number": "4242424242424242"},
                   headers=auth(key))  # fmt: skip
    assert r.status_code == 201, r.text


def _available(srv: Server, key: str, cur: str) -> str:
    return str(calls.get(f"{srv.base}/v1/wallets/{cur}", headers=auth(key)).json()["available"])


def test_a_minors_monthly_cap_holds_and_a_retry_still_replays(server: Server) -> None:
    merchant, _ = _party(server, "merchant", country="KR")
    _, key = _party(server, "customer", country="KR", age_band="minor")
    _fund(server, key, "200000", "KRW")

    def pay(amount: str, idem: str | None = None) -> httpx.Response:
        headers = {**auth(key), **({"Idempotency-Key": idem} if idem else {})}
        body = {"merchant": merchant, "amount": amount, "currency": "KRW"}
        return calls.post(f"{server.base}/v1/payments", json=body, headers=headers)

    first = pay("60000", "a")
    assert first.status_code == 201 and first.json()["fee"] == "1200", first.text  # the kr pack's 2 %
    assert pay("40000", "b").status_code == 201  # exactly the 100,000 won cap
    over = pay("1")
    assert (over.status_code, over.json()["code"]) == (402, "policy_denied")
    assert "100001 KRW this month" in over.json()["detail"] and "minors" in over.json()["detail"]
    again = pay("40000", "b")  # the retry of a payment made: replayed, not refused by the counters it filled
    assert again.status_code == 200 and again.headers["Idempotent-Replayed"] == "true", again.text
    assert _available(server, key, "KRW") == "100000"


def test_concurrent_payments_never_pass_the_cap(server: Server) -> None:
    merchant, _ = _party(server, "merchant", country="KR")
    _, key = _party(server, "customer", country="KR", age_band="minor")
    _fund(server, key, "500000", "KRW")
    body = {"merchant": merchant, "amount": "10000", "currency": "KRW"}

    def send(_: int) -> int:
        return calls.post(f"{server.base}/v1/payments", json=body, headers=auth(key)).status_code

    with ThreadPoolExecutor(max_workers=20) as pool:
        statuses = list(pool.map(send, range(25)))
    assert statuses.count(201) == 10 and statuses.count(402) == 15, statuses
    assert _available(server, key, "KRW") == "400000"


def test_eu_low_value_exemption_counts_and_evidence_decides_the_vat(server: Server) -> None:
    merchant, _ = _party(server, "merchant", country="DE")
    _, key = _party(server, "customer", country="DE")
    _fund(server, key, "100.00", "EUR")
    body = {"merchant": merchant, "amount": "1.00", "currency": "EUR", "evidence": {"ip": "DE"}}
    for _ in range(5):
        r = calls.post(f"{server.base}/v1/payments", json=body, headers=auth(key))
        assert r.status_code == 201 and r.json()["fee"] == "0.02", r.text
    decided = r.json()["policy"]  # the decision rides with the payment: version, exemption, VAT found
    assert decided["sca_exemption"] == "eu.sca.low_value_remote" and len(decided["version"]) == 64
    assert decided["tax"] == {"place": "DE", "kind": "vat", "amount": "0.159664", "inclusive": True}
    got = calls.get(f"{server.base}/v1/payments/{r.json()['id']}", headers=auth(key)).json()
    assert got["policy"] == decided
    sixth = calls.post(f"{server.base}/v1/payments", json=body, headers=auth(key))
    assert (sixth.status_code, sixth.json()["code"]) == (402, "authentication_required")
    assert "payment 6 since the last SCA" in sixth.json()["detail"]
    _, other = _party(server, "customer", country="DE")
    _fund(server, other, "100.00", "EUR")
    large = calls.post(f"{server.base}/v1/payments", json={**body, "amount": "31.00"}, headers=auth(other))
    assert (large.status_code, large.json()["code"]) == (402, "authentication_required")
    unknown = calls.post(f"{server.base}/v1/payments", json={**body, "evidence": None}, headers=auth(other))
    assert (unknown.status_code, unknown.json()["code"]) == (402, "policy_denied")
    assert "one piece of evidence, 2 needed" in unknown.json()["detail"]
    assert _available(server, key, "EUR") == "95.00" and _available(server, other, "EUR") == "100.00"
    month = time.strftime("%Y-%m", time.gmtime(server.now_ms() / 1000))
    early = calls.post(f"{server.base}/v1/tax/close", json={"period": month}, headers=auth(server.operator))
    assert early.status_code == 422 and "has not ended everywhere" in early.json()["detail"]
    usd = calls.post(f"{server.base}/v1/payments", json={**body, "currency": "USD"}, headers=auth(other))
    assert usd.status_code == 402 and usd.json()["code"] == "insufficient_funds"  # no USD policy: as before


def test_two_server_processes_never_pass_the_cap_together(server: Server, tmp_path: Path) -> None:
    """Each process sees only its own payments in flight; the headroom in the ledger holds the line."""
    second, other, _ = serve(server.db, tmp_path / "second.log", server.env, tmp_path)
    try:
        merchant, _ = _party(server, "merchant", country="KR")
        _, key = _party(server, "customer", country="KR", age_band="minor")
        _fund(server, key, "500000", "KRW")
        body = {"merchant": merchant, "amount": "10000", "currency": "KRW"}

        def send(i: int) -> int:
            base = server.base if i % 2 else other
            return calls.post(f"{base}/v1/payments", json=body, headers=auth(key), timeout=30).status_code

        with ThreadPoolExecutor(max_workers=24) as pool:
            statuses = list(pool.map(send, range(24)))
        assert statuses.count(201) == 10 and statuses.count(402) == 14, statuses
        assert _available(server, key, "KRW") == "400000"
    finally:
        second.terminate()
        second.wait(timeout=30)


def test_holds_count_toward_the_cap_when_captured_not_when_voided(server: Server) -> None:
    merchant, merchant_key = _party(server, "merchant", country="KR")
    _, key = _party(server, "customer", country="KR", age_band="minor")
    _fund(server, key, "300000", "KRW")

    def pay(amount: str, capture: bool = True) -> httpx.Response:
        body = {"merchant": merchant, "amount": amount, "currency": "KRW", "capture": capture}
        return calls.post(f"{server.base}/v1/payments", json=body, headers=auth(key))

    voided = pay("80000", capture=False)
    assert voided.status_code == 201, voided.text
    r = calls.post(f"{server.base}/v1/payments/{voided.json()['id']}/void", headers=auth(merchant_key))
    assert r.status_code == 200
    assert pay("90000").status_code == 201  # the voided hold took nothing from the 100,000 won
    assert pay("20000", capture=False).json()["code"] == "policy_denied"  # a hold is decided in full
    held = pay("10000", capture=False)
    assert held.status_code == 201
    url = f"{server.base}/v1/payments/{held.json()['id']}/capture"
    captured = calls.post(url, json={"amount": "10000"}, headers=auth(merchant_key))
    assert captured.status_code == 200 and captured.json()["fee"] == "200", captured.text
    again = calls.post(url, json={"amount": "10000"}, headers=auth(merchant_key))
    assert again.status_code == 200 and again.headers["Idempotent-Replayed"] == "true", again.text
    assert pay("1").json()["code"] == "policy_denied"  # the capture filled the month
    assert _available(server, key, "KRW") == "200000"


def test_a_refund_gives_the_room_back(server: Server) -> None:
    merchant, merchant_key = _party(server, "merchant", country="KR")
    _, key = _party(server, "customer", country="KR", age_band="minor")
    _fund(server, key, "300000", "KRW")
    body = {"merchant": merchant, "amount": "100000", "currency": "KRW"}
    paid = calls.post(f"{server.base}/v1/payments", json=body, headers=auth(key))
    assert paid.status_code == 201, paid.text
    full = calls.post(f"{server.base}/v1/payments", json={**body, "amount": "1"}, headers=auth(key))
    assert full.json()["code"] == "policy_denied"
    r = calls.post(f"{server.base}/v1/payments/{paid.json()['id']}/refunds", json={"amount": "30000"},
                   headers=auth(merchant_key))  # fmt: skip
    assert r.status_code == 201, r.text
    again = calls.post(f"{server.base}/v1/payments", json={**body, "amount": "30000"}, headers=auth(key))
    assert again.status_code == 201, again.text  # the refunded 30,000 won came back under the cap
    assert calls.post(f"{server.base}/v1/payments", json={**body, "amount": "1"}, headers=auth(key)).status_code == 402


OVERRIDE = """
[pack]
id = "shop-override"
merchant_override = true

[[limits]]
id = "kr.micropayment.monthly"
period = "month"
max = "{max}"
currency = "KRW"
when = {{ age_band = ["adult"] }}
source = "the shop's own cap for new readers"
"""


def test_a_merchant_tightens_the_cap_for_its_own_payments_and_may_not_loosen_it(server: Server) -> None:
    merchant, merchant_key = _party(server, "merchant", country="KR")
    other, _ = _party(server, "merchant", country="KR")
    _, key = _party(server, "customer", country="KR", age_band="adult")
    _fund(server, key, "900000", "KRW")
    url = f"{server.base}/v1/policy_overrides/KRW"

    def pay(to: str, amount: str) -> httpx.Response:
        body = {"merchant": to, "amount": amount, "currency": "KRW"}
        return calls.post(f"{server.base}/v1/payments", json=body, headers=auth(key))

    assert calls.get(url, headers=auth(merchant_key)).status_code == 404  # the kr pack decides
    put = calls.put(url, json={"toml": OVERRIDE.format(max="300000")}, headers=auth(merchant_key))
    assert put.status_code == 200, put.text
    assert put.json()["pack"] == "kr" and {"id": "kr.micropayment.monthly", "source": "the shop's own cap for new "
                                           "readers"} in put.json()["rules"]  # fmt: skip
    assert pay(merchant, "250000").status_code == 201
    over = pay(merchant, "60000")  # 310,000 this month: past the shop's cap, not the law's
    assert (over.status_code, over.json()["code"]) == (402, "policy_denied"), over.text
    assert "the shop's own cap" in over.json()["detail"]
    assert pay(other, "60000").status_code == 201  # another merchant: the pack's 1,000,000 won

    looser = calls.put(url, json={"toml": OVERRIDE.format(max="2000000")}, headers=auth(merchant_key))
    assert (looser.status_code, looser.json()["code"]) == (422, "policy_invalid"), looser.text
    assert "would loosen a legal limit" in looser.json()["detail"]
    broken = calls.put(url, json={"toml": "[pack\n"}, headers=auth(merchant_key))
    assert (broken.status_code, broken.json()["code"]) == (422, "policy_invalid"), broken.text
    kept = calls.get(url, headers=auth(merchant_key))  # refused overrides leave the one in force
    assert kept.status_code == 200 and 'max = "300000"' in kept.json()["toml"]
    assert pay(merchant, "60000").status_code == 402
    assert _available(server, key, "KRW") == "590000"  # refusals moved nothing

    assert calls.delete(url, headers=auth(merchant_key)).status_code == 204
    assert pay(merchant, "60000").status_code == 201  # the pack decides again, at once in this process


def test_a_payer_withdraws_from_a_purchase_unless_it_waived_the_right(server: Server) -> None:
    merchant, _ = _party(server, "merchant", country="DE")
    _, key = _party(server, "customer", country="DE")
    _fund(server, key, "10.00", "EUR")
    body = {"merchant": merchant, "amount": "1.50", "currency": "EUR", "evidence": {"ip": "DE"}}
    kept = calls.post(f"{server.base}/v1/payments", json=body, headers=auth(key)).json()
    read_at_once = calls.post(f"{server.base}/v1/payments", json={**body, "withdrawal_waived": True},
                              headers=auth(key)).json()  # fmt: skip
    assert kept["policy"]["withdrawal_waived"] is False and read_at_once["policy"]["withdrawal_waived"] is True

    refused = calls.post(f"{server.base}/v1/payments/{read_at_once['id']}/withdrawal", headers=auth(key))
    assert (refused.status_code, refused.json()["code"]) == (409, "withdrawal_not_allowed"), refused.text
    assert "waived with express consent" in refused.json()["detail"]
    done = calls.post(f"{server.base}/v1/payments/{kept['id']}/withdrawal", headers=auth(key))
    assert done.status_code == 201, done.text
    assert (done.json()["amount"], done.json()["reason"]) == ("1.50", "withdrawal")
    assert _available(server, key, "EUR") == "8.50"  # only the waived purchase is still paid


def test_a_device_payment_is_decided_by_the_contactless_and_device_thresholds(server: Server) -> None:
    """PSD2 RTS Art. 11 (the eu pack applies it to devices): up to EUR 50 a payment and EUR 150 since the
    last strong authentication, where a remote payment steps up past EUR 30 (Art. 16)."""
    merchant, _ = _party(server, "merchant", country="DE")
    _, key = _party(server, "customer", country="DE")
    _fund(server, key, "500.00", "EUR")
    body = {"merchant": merchant, "amount": "40.00", "currency": "EUR", "evidence": {"ip": "DE"}}
    remote = calls.post(f"{server.base}/v1/payments", json=body, headers=auth(key))
    assert (remote.status_code, remote.json()["code"]) == (402, "authentication_required"), remote.text
    for _ in range(3):  # 40, 80, 120 of the 150 since the last SCA
        paid = calls.post(f"{server.base}/v1/payments", json={**body, "channel": "device"}, headers=auth(key))
        assert paid.status_code == 201, paid.text
        assert paid.json()["policy"]["sca_exemption"] == "eu.sca.contactless_device"
    fourth = calls.post(f"{server.base}/v1/payments", json={**body, "channel": "device"}, headers=auth(key))
    assert (fourth.status_code, fourth.json()["code"]) == (402, "authentication_required"), fourth.text
    assert "160.00 since the last SCA would pass 150.00" in fourth.json()["detail"]
    assert _available(server, key, "EUR") == "380.00"
