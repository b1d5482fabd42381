"""The paywall in-process, its channel already known (no platform): concurrency on one channel, the
price table and decorator, and what is on disk when the answer leaves."""

from __future__ import annotations

import asyncio
import base64
import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from nacl.signing import SigningKey

from farthing.domain.channels import vouchers
from farthing.domain.channels.ids import public_channel_id
from farthing.domain.channels.rules import Form, Terms
from farthing.paywall import Paywall, price
from farthing.paywall.store import ChannelBook

KEY = SigningKey(b"\x41" * 32)
NUMBER = 4242
CHANNEL = public_channel_id(NUMBER)


def make_app(store: Path) -> FastAPI:
    app = FastAPI()

    @app.get("/free")
    async def free() -> dict[str, str]:
        return {"text": "free"}

    @app.get("/article")
    @price("0.0002 USD")
    async def article() -> dict[str, str]:
        return {"text": "the full text"}

    @app.get("/api/{name}")
    async def api(name: str) -> dict[str, str]:
        return {"text": f"api {name}"}

    app.add_middleware(Paywall, platform_url="http://platform.invalid", merchant="mer_m", api_key="k",
                       store=str(store), rules={"/api/*": "0.0005 USD"})  # fmt: skip
    book = ChannelBook(str(store))
    book.learn(CHANNEL, "cus_c", "USD", Terms(NUMBER, Form.voucher, 1_000_000, 2**50, bytes(KEY.verify_key)))
    book.close()
    return app


def header(cumulative: int, sequence: int, amount: str = "200") -> str:
    v = vouchers.sign(KEY, NUMBER, cumulative, sequence)
    doc = {"x402Version": 2,
           "accepted": {"scheme": "batch-settlement", "network": "farthing:local", "amount": amount, "asset": "USD",
                        "payTo": "mer_m"},
           "payload": {"channel": CHANNEL, "voucher": {"cumulative": str(cumulative), "sequence": sequence,
                                                        "signature": v.signature.hex()}}}  # fmt: skip
    return base64.b64encode(json.dumps(doc).encode()).decode()


@pytest.fixture
def store(tmp_path: Path) -> Path:
    return tmp_path / "paywall.db"


def test_the_same_voucher_sent_twenty_times_at_once_is_served_once(store: Path) -> None:
    app = make_app(store)

    async def burst() -> list[int]:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://shop") as http:
            same = header(200, 1)
            answers = await asyncio.gather(
                *(http.get("/article", headers={"PAYMENT-SIGNATURE": same}) for _ in range(20))
            )
            return [r.status_code for r in answers]

    statuses = asyncio.run(burst())
    assert sorted(statuses) == [200] + [402] * 19
    book = ChannelBook(str(store))
    try:
        known = book.find(CHANNEL)
        assert known is not None and (known.accepted.amount, known.accepted.sequence) == (200, 1)
    finally:
        book.close()


def test_prices_come_from_the_decorator_and_the_rule_table(store: Path) -> None:
    app = make_app(store)

    async def run() -> None:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://shop") as http:
            assert (await http.get("/free")).status_code == 200
            for path, amount in (("/article", "200"), ("/api/x", "500")):
                r = await http.get(path)
                assert r.status_code == 402 and "full text" not in r.text
                required = json.loads(base64.b64decode(r.headers["payment-required"]))
                assert required["x402Version"] == 2 and required["resource"]["url"] == f"http://shop{path}"
                [offer] = required["accepts"]
                assert (offer["amount"], offer["asset"], offer["payTo"], offer["network"]) == (
                    amount,
                    "USD",
                    "mer_m",
                    "farthing:local",
                )
                assert r.json()["accepts"][0]["maxAmountRequired"] == amount  # the v1 body
            ok = await http.get("/api/x", headers={"PAYMENT-SIGNATURE": header(500, 1, "500")})
            assert ok.status_code == 200 and ok.json() == {"text": "api x"}
            # 200 units where 500 are asked: refused, and the next voucher still starts from 500.
            short = await http.get("/api/y", headers={"PAYMENT-SIGNATURE": header(700, 2, "500")})
            assert short.status_code == 402 and short.json()["code"] == "payment_insufficient"
            extra = json.loads(base64.b64decode(short.headers["payment-required"]))["accepts"][0]["extra"]
            assert extra["channel"] == {"id": CHANNEL, "accepted": "500", "sequence": 1}
            assert (await http.get("/api/y", headers={"PAYMENT-SIGNATURE": header(1000, 2, "500")})).status_code == 200

    asyncio.run(run())


def test_an_answered_payment_is_on_disk_already(store: Path) -> None:
    """Read the store from another connection the moment the paid answer arrives."""
    app = make_app(store)

    async def run() -> None:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://shop") as http:
            for i in range(1, 6):
                r = await http.get("/article", headers={"PAYMENT-SIGNATURE": header(200 * i, i)})
                assert r.status_code == 200
                book = ChannelBook(str(store))
                try:
                    known = book.find(CHANNEL)
                    assert known is not None and known.accepted.sequence == i
                finally:
                    book.close()

    asyncio.run(run())


def test_a_close_made_by_another_process_is_seen_within_seconds(store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from farthing.paywall import middleware

    monkeypatch.setattr(middleware, "CLOSED_CHECK_S", 0.0)
    app = make_app(store)

    async def run() -> None:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://shop") as http:
            assert (await http.get("/article", headers={"PAYMENT-SIGNATURE": header(200, 1)})).status_code == 200
            other = ChannelBook(str(store))  # `farthing paywall redeem --close`, in another process
            other.redeemed(CHANNEL, 200, 1, closed=True)
            other.close()
            late = await http.get("/article", headers={"PAYMENT-SIGNATURE": header(400, 2)})
            assert (late.status_code, late.json()["code"]) == (402, "channel_closed")

    asyncio.run(run())


def test_redeeming_a_store_that_is_not_there_is_refused_and_makes_no_file(tmp_path: Path) -> None:
    from farthing.paywall import redeem

    missing = tmp_path / "paywal.db"  # a typo of the paywall's store
    with pytest.raises(FileNotFoundError, match="no paywall store"):
        redeem(str(missing), "http://127.0.0.1:9", "sk_test_x")
    assert not missing.exists()
    done = subprocess.run([sys.executable, "-m", "farthing.cli", "paywall", "redeem", "--store", str(missing),
                           "--key", "sk_test_x"], capture_output=True, text=True, timeout=60)  # fmt: skip
    assert done.returncode == 2 and "no paywall store" in done.stdout and not missing.exists()
