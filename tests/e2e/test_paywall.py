"""Paywalls end to end: a real platform (`farthing serve`), a real paywalled app in its own process
(the examples), a payer's `farthing.paywall.Client`, and `farthing paywall redeem`.

The merchant's app is killed between the payments and the redemption: what it accepted was on disk
before it served the content, so nothing is lost.
"""

from __future__ import annotations

import base64
import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from nacl.signing import SigningKey

import calls
from farthing.domain.channels import hashchain, vouchers
from farthing.domain.channels.ids import channel_number, public_channel_id
from farthing.paywall import Budget, Client
from served import free_port

from .conftest import Server
from .helpers import auth, balances, party, top_up

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
pytestmark = pytest.mark.parametrize("server", ["sqlite"], indirect=True)
"""The platform's store is not what these journeys are about (the paywall keeps its own book, SQLite); the
channels on both stores are in tests/integration/test_channels.py. One store keeps the suite in its budget."""


@dataclass
class App:
    base: str
    store: Path
    proc: subprocess.Popen[bytes]
    log: Path

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)


@dataclass
class Shop:
    merchant: str
    merchant_key: str
    customer_key: str


@pytest.fixture
def shop(server: Server) -> Shop:
    merchant, merchant_key = party(server, "merchant", "Gazette")
    _, customer_key = party(server, "customer", "Reader")
    top_up(server, customer_key, "10.00")
    return Shop(merchant, merchant_key, customer_key)


def start(example: str, server: Server, shop: Shop, tmp_path: Path, store: Path | None = None,
          env: dict[str, str] | None = None) -> App:  # fmt: skip
    port = free_port()
    store = store or tmp_path / f"{example}.db"
    log = tmp_path / f"{example}-{port}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, str(EXAMPLES / f"{example}.py"), "--platform", server.base, "--merchant", shop.merchant,
             "--key", shop.merchant_key, "--store", str(store), "--port", str(port)],
            stdout=out, stderr=subprocess.STDOUT, env={**server.env, **(env or {})},
        )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        assert proc.poll() is None, log.read_text()
        try:
            calls.get(base + "/openapi.json", timeout=1)
            return App(base, store, proc, log)
        except httpx.TransportError:
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)


@pytest.fixture
def apps() -> Iterator[list[App]]:
    started: list[App] = []
    yield started
    for app in started:
        if app.proc.poll() is None:
            app.proc.terminate()
            app.proc.wait(timeout=10)


def redeem(server: Server, shop: Shop, store: Path, *extra: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "farthing.cli", "paywall", "redeem", "--store", str(store), "--platform", server.base,
         "--key", shop.merchant_key, *extra],
        capture_output=True, text=True, env={**server.env, "COLUMNS": "200"}, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def audit_ok(server: Server) -> None:
    done = subprocess.run([sys.executable, "-m", "farthing.cli", "audit", "verify", "--db", server.db],
                          capture_output=True, text=True, timeout=120, env=server.env)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_thousand_articles_paid_by_voucher_and_redeemed_after_the_app_was_killed(
    server: Server, shop: Shop, apps: list[App], tmp_path: Path
) -> None:
    app = start("articles", server, shop, tmp_path)
    apps.append(app)
    budget = Budget("USD", per_request="0.001", per_host="1.00", total="2.00")
    pay = Client(platform_url=server.base, api_key=shop.customer_key, budget=budget, deposit="1.00")
    with httpx.Client(transport=pay, timeout=30) as http:
        for n in range(1, 1001):
            r = http.get(f"{app.base}/articles/{n}")
            assert r.status_code == 200 and r.json()["number"] == n, r.text
            receipt = json.loads(base64.b64decode(r.headers["payment-response"]))
            assert receipt["success"] and receipt["amount"] == "200"
    assert pay.spent == 200_000 and len(pay.channels) == 1
    assert balances(server, shop.customer_key)["USD"][0] == "9.00"  # $1.00 held in the channel
    app.kill()  # between the payments and the redemption
    assert "1 channels redeemed" in redeem(server, shop, app.store)
    assert balances(server, shop.merchant_key)["USD"] == ("0.196", "0.20", "0.004")  # 1,000 x $0.0002, 2 % fee
    redeem(server, shop, app.store, "--close")
    assert balances(server, shop.customer_key)["USD"][0] == "9.80"  # the rest came back
    redeem(server, shop, app.store, "--close")  # again: nothing moves
    assert balances(server, shop.merchant_key)["USD"] == ("0.196", "0.20", "0.004")
    audit_ok(server)


def test_the_paywall_redeems_its_channels_by_itself(
    server: Server, shop: Shop, apps: list[App], tmp_path: Path
) -> None:
    app = start("articles", server, shop, tmp_path, env={"FARTHING_PAYWALL_REDEEM_S": "0.5"})
    apps.append(app)
    before = balances(server, shop.merchant_key).get("USD", ("0.00", "0.00", "0.00"))
    pay = Client(platform_url=server.base, api_key=shop.customer_key, budget=Budget("USD", "0.001", "1.00", "1.00"),
                 deposit="0.50")  # fmt: skip
    with httpx.Client(transport=pay, timeout=30) as http:
        for n in range(1, 11):
            assert http.get(f"{app.base}/articles/{n}").status_code == 200

    def gained() -> Decimal:
        return Decimal(balances(server, shop.merchant_key).get("USD", before)[1]) - Decimal(before[1])

    deadline = time.monotonic() + 20  # a turn may come while the reader still pays: redeemed in parts
    while gained() < Decimal("0.002") and time.monotonic() < deadline:
        time.sleep(0.2)  # no one runs `farthing paywall redeem`
    assert gained() == Decimal("0.002"), app.log.read_text()  # ten articles at $0.0002, credited
    assert "0 channels redeemed" in redeem(server, shop, app.store)  # nothing was left to redeem


def test_a_metered_api_paid_with_a_hash_chain(server: Server, shop: Shop, apps: list[App], tmp_path: Path) -> None:
    """$0.0005 a call from chains of 100 elements: the client opens a second channel when the first is
    spent, and stops at its per-host budget of $0.10 (200 calls), answering the 402 it will not pay."""
    app = start("metered_api", server, shop, tmp_path)
    apps.append(app)
    budget = Budget("USD", per_request="0.001", per_host="0.10", total="1.00")
    pay = Client(platform_url=server.base, api_key=shop.customer_key, budget=budget, deposit="0.05", form="hashchain")
    with httpx.Client(transport=pay, timeout=30) as http:
        assert http.get(f"{app.base}/health").status_code == 200  # free
        for i in range(200):
            r = http.get(f"{app.base}/api/length", params={"text": "x" * i})
            assert r.status_code == 200 and r.json()["length"] == i, r.text
        assert http.get(f"{app.base}/api/length", params={"text": "one too many"}).status_code == 402
    assert pay.spent == 100_000
    opened = calls.get(f"{server.base}/v1/channels", headers=auth(shop.customer_key)).json()
    assert sorted(c["status"] for c in opened) == ["closing", "open"]  # the spent one was closed by the payer
    assert all(c["form"] == "hashchain" and c["length"] == 100 for c in opened)
    app.kill()
    redeem(server, shop, app.store, "--close")
    assert balances(server, shop.merchant_key)["USD"] == ("0.098", "0.10", "0.002")
    assert balances(server, shop.customer_key)["USD"][0] == "9.90"
    audit_ok(server)


def _header(channel: str, payload: dict[str, object], amount: str = "200", **accepted: object) -> str:
    requirement = {"scheme": "batch-settlement", "network": "farthing:local", "amount": amount, "asset": "USD",
                   **accepted}  # fmt: skip
    return base64.b64encode(json.dumps({"x402Version": 2, "accepted": requirement,
                                        "payload": {"channel": channel, **payload}}).encode()).decode()  # fmt: skip


def _voucher(key: SigningKey, channel: str, cumulative: int, sequence: int) -> dict[str, object]:
    v = vouchers.sign(key, channel_number(channel), cumulative, sequence)
    return {"voucher": {"cumulative": str(v.cumulative), "sequence": v.sequence, "signature": v.signature.hex()}}


def _open(server: Server, shop: Shop, **terms: object) -> str:
    body = {"merchant": shop.merchant, "currency": "USD", "deposit": "0.10", "expires_in_s": 3600, **terms}
    r = calls.post(f"{server.base}/v1/channels", json=body, headers=auth(shop.customer_key))
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def test_double_spends_and_bad_headers_are_refused_and_change_nothing(
    server: Server, shop: Shop, apps: list[App], tmp_path: Path
) -> None:
    app = start("articles", server, shop, tmp_path)
    apps.append(app)
    url = f"{app.base}/articles/7"
    key = SigningKey.generate()
    ch = _open(server, shop, form="voucher", public_key=bytes(key.verify_key).hex())
    pay_to = {"payTo": shop.merchant}

    def get(header: str, name: str = "PAYMENT-SIGNATURE") -> httpx.Response:
        r = calls.get(url, headers={name: header})
        if r.status_code != 200:
            assert "full text" not in r.text, "content served without payment"
        return r

    first = get(_header(ch, _voucher(key, ch, 200, 1), **pay_to))
    assert first.status_code == 200 and "full text" in first.text
    receipt = json.loads(base64.b64decode(first.headers["payment-response"]))
    assert receipt == {"success": True, "transaction": f"{ch}:1", "network": "farthing:local",
                       "payer": receipt["payer"], "amount": "200"}  # fmt: skip
    assert receipt["payer"].startswith("cus_")

    other_key = SigningKey.generate()
    chain_a, chain_b = hashchain.chain(b"\x31" * 32, 100), hashchain.chain(b"\x32" * 32, 100)
    ch_a = _open(server, shop, form="hashchain", root=chain_a[0].hex(), unit="0.0002", length=100, deposit="0.02")
    stranger = public_channel_id(12_345)
    refusals: list[tuple[str, int, str, str]] = [
        ("replayed voucher", 402, "voucher_stale", _header(ch, _voucher(key, ch, 200, 1), **pay_to)),
        ("lower cumulative", 402, "voucher_stale", _header(ch, _voucher(key, ch, 100, 2), **pay_to)),
        ("pays too little", 402, "payment_insufficient", _header(ch, _voucher(key, ch, 300, 2), **pay_to)),
        ("forged signature", 402, "voucher_signature_invalid", _header(ch, _voucher(other_key, ch, 400, 2), **pay_to)),
        ("more than the deposit", 402, "voucher_exceeds_deposit", _header(ch, _voucher(key, ch, 100_001, 2), **pay_to)),
        (
            "another channel's chain",
            402,
            "chain_element_invalid",
            _header(ch_a, {"chain": {"index": 1, "element": chain_b[1].hex()}}, **pay_to),
        ),
        ("wrong amount accepted", 402, "payment_insufficient", _header(ch, _voucher(key, ch, 400, 2), "100", **pay_to)),
        ("wrong payee", 402, "payment_insufficient", _header(ch, _voucher(key, ch, 400, 2), payTo="mer_x")),
        ("unknown channel", 402, "channel_mismatch", _header(stranger, _voucher(key, stranger, 400, 2), **pay_to)),
        ("not base64", 400, "payment_header_invalid", "%%%not-base64%%%"),
        ("not JSON", 400, "payment_header_invalid", base64.b64encode(b"{nope").decode()),
        ("no version", 400, "payment_header_invalid", base64.b64encode(b'{"payload": {}}').decode()),
        ("oversized", 400, "payment_header_invalid", base64.b64encode(b"x" * 9_000).decode()),
        ("not a channel id", 400, "payment_header_invalid", _header("ch_nope", _voucher(key, ch, 400, 2), **pay_to)),
        (
            "bad signature hex",
            400,
            "payment_header_invalid",
            _header(ch, {"voucher": {"cumulative": "400", "sequence": 2, "signature": "zz"}}, **pay_to),
        ),
        (
            "float amount",
            400,
            "payment_header_invalid",
            _header(ch, {"voucher": {"cumulative": 400.0, "sequence": 2, "signature": "00" * 64}}, **pay_to),
        ),
    ]
    wrong_scheme = json.loads(base64.b64decode(_header(ch, _voucher(key, ch, 400, 2), **pay_to)))
    wrong_scheme["accepted"]["scheme"] = "exact"
    refusals.append(
        ("wrong scheme", 402, "payment_header_invalid", base64.b64encode(json.dumps(wrong_scheme).encode()).decode())
    )
    wrong_scheme["accepted"].update(scheme="batch-settlement", network="eip155:8453")
    refusals.append(
        ("wrong network", 402, "payment_header_invalid", base64.b64encode(json.dumps(wrong_scheme).encode()).decode())
    )
    for why, status, code, header in refusals:
        r = get(header)
        assert r.status_code == status, (why, r.status_code, r.text)
        assert r.json()["code"] == code, (why, r.text)
        assert "payment-required" in r.headers, why
    # Nothing refused was kept: the next voucher after the first one is still the one accepted.
    after = get(_header(ch, _voucher(key, ch, 400, 2), **pay_to))
    assert after.status_code == 200, after.text
    # The v1 header names are accepted and answered in kind.
    v1 = {"x402Version": 1, "scheme": "batch-settlement", "network": "farthing:local",
          "payload": {"channel": ch, **_voucher(key, ch, 600, 3)}}  # fmt: skip
    r = get(base64.b64encode(json.dumps(v1).encode()).decode(), "X-PAYMENT")
    assert r.status_code == 200 and "x-payment-response" in r.headers and "payment-response" not in r.headers
    # A chain element of its own channel pays.
    assert get(_header(ch_a, {"chain": {"index": 1, "element": chain_a[1].hex()}}, **pay_to)).status_code == 200

    # Expired: nothing is accepted once the channel's time is over.
    short = _open(server, shop, form="voucher", public_key=bytes(key.verify_key).hex(), expires_in_s=1)
    time.sleep(1.1)
    r = get(_header(short, _voucher(key, short, 200, 1), **pay_to))
    assert (r.status_code, r.json().get("code")) == (402, "channel_expired"), r.text

    # Closed by the merchant (redeemed with --close while the app was down): refused after it restarts.
    app.kill()
    assert "0 refused" in redeem(server, shop, app.store, "--close")
    apps.append(start("articles", server, shop, tmp_path, store=app.store))
    url = f"{apps[-1].base}/articles/7"
    r = get(_header(ch, _voucher(key, ch, 800, 4), **pay_to))
    assert (r.status_code, r.json()["code"]) == (402, "channel_closed")
    assert balances(server, shop.merchant_key)["USD"][1] == "0.0008"  # 600 by voucher + 200 by chain
    audit_ok(server)


def test_the_official_x402_client_pays_the_paywall(server: Server, shop: Shop, apps: list[App], tmp_path: Path) -> None:
    """x402 (PyPI) with Farthing's scheme registered for `farthing:*`: its httpx client answers the 402,
    retries with PAYMENT-SIGNATURE, and the paywall serves the article."""
    import asyncio

    from x402 import x402Client
    from x402.http.clients.httpx import x402HttpxClient

    from farthing.paywall.x402_scheme import X402Scheme

    app = start("articles", server, shop, tmp_path)
    apps.append(app)
    budget = Budget("USD", per_request="0.001", per_host="0.01", total="0.01")
    pay = Client(platform_url=server.base, api_key=shop.customer_key, budget=budget, deposit="0.01")
    x402 = x402Client()
    x402.register("farthing:*", X402Scheme(pay))
    x402.set_spend_controls({"allowed_assets": [{"network": "farthing:*", "asset": "USD",
                                                 "max_amount_per_payment": "1000"}]})  # fmt: skip

    async def read() -> list[httpx.Response]:
        async with x402HttpxClient(x402, timeout=30) as http:
            return [await http.get(f"{app.base}/articles/{n}") for n in range(1, 6)]

    try:
        answers = asyncio.run(read())
    finally:
        pay.close()
    assert [r.status_code for r in answers] == [200] * 5, answers[0].text
    assert all(json.loads(base64.b64decode(r.headers["payment-response"]))["success"] for r in answers)
    assert pay.spent == 1_000
    app.kill()
    redeem(server, shop, app.store, "--close")
    assert balances(server, shop.merchant_key)["USD"][1] == "0.001"


def test_a_payers_close_stops_the_paywall_and_what_it_accepted_stays_redeemable(
    server: Server, shop: Shop, apps: list[App], tmp_path: Path
) -> None:
    """No channel opens without a dispute window of an hour at least (with none, a payer could pay once,
    close, and take its whole deposit back while the paywall served on). Once the payer closes, the
    paywall refuses new vouchers within CLOSED_CHECK_S; the voucher it accepted before is redeemed."""
    from farthing.paywall.middleware import CLOSED_CHECK_S

    key = SigningKey.generate()
    public_key = bytes(key.verify_key).hex()
    for dispute_s in (0, 60, 3599):
        r = calls.post(f"{server.base}/v1/channels", headers=auth(shop.customer_key),
                       json={"merchant": shop.merchant, "currency": "USD", "deposit": "0.10", "expires_in_s": 3600,
                             "form": "voucher", "public_key": public_key, "dispute_s": dispute_s})  # fmt: skip
        assert (r.status_code, r.json()["code"]) == (422, "validation_failed"), r.text
    before = balances(server, shop.customer_key)["USD"][0]
    app = start("articles", server, shop, tmp_path)
    apps.append(app)
    url = f"{app.base}/articles/3"
    ch = _open(server, shop, form="voucher", public_key=public_key)
    paid = calls.get(url, headers={"PAYMENT-SIGNATURE": _header(ch, _voucher(key, ch, 200, 1), payTo=shop.merchant)})
    assert paid.status_code == 200 and "full text" in paid.text

    closing = calls.post(f"{server.base}/v1/channels/{ch}/close", headers=auth(shop.customer_key))
    assert closing.status_code == 200 and closing.json()["status"] == "closing", closing.text
    time.sleep(CLOSED_CHECK_S + 0.5)
    late = calls.get(url, headers={"PAYMENT-SIGNATURE": _header(ch, _voucher(key, ch, 400, 2), payTo=shop.merchant)})
    assert (late.status_code, late.json()["code"]) == (402, "channel_closed")
    assert "full text" not in late.text

    app.kill()
    redeem(server, shop, app.store)  # within the dispute window: the accepted voucher is paid
    assert balances(server, shop.merchant_key)["USD"][1] == "0.0002"
    assert balances(server, shop.customer_key)["USD"][0] == str(Decimal(before) - Decimal("0.10"))
    audit_ok(server)


def test_a_reader_that_comes_back_pays_from_the_channel_it_left_open(
    server: Server, shop: Shop, apps: list[App], tmp_path: Path
) -> None:
    app = start("articles", server, shop, tmp_path)
    apps.append(app)
    state = tmp_path / "reader" / "channels.json"
    budget = Budget("USD", per_request="0.001", per_host="1.00", total="2.00")
    for run in range(2):  # two runs of the reader's program, one after the other
        pay = Client(platform_url=server.base, api_key=shop.customer_key, budget=budget, deposit="0.01", state=state)
        with httpx.Client(transport=pay, timeout=30) as http:
            for n in range(1, 6):
                r = http.get(f"{app.base}/articles/{run * 10 + n}")
                assert r.status_code == 200, r.text
        pay.close()
    assert state.stat().st_mode & 0o777 == 0o600  # its channels' secrets: the reader's alone
    opened = calls.get(f"{server.base}/v1/channels", headers=auth(shop.customer_key)).json()
    assert len(opened) == 1, opened  # the second run paid from the first run's channel
    assert "1 channels redeemed" in redeem(server, shop, app.store)
    assert balances(server, shop.merchant_key)["USD"][1] == "0.002"  # ten articles at $0.0002, redeemed once
