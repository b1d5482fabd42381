"""`Client`: an httpx transport that pays a paywall's HTTP 402 from a channel, within the payer's budget.

On a 402 whose `PAYMENT-REQUIRED` header (x402 v2) offers Farthing's `batch-settlement` on this
payer's network and currency, the client pays from its open channel to that merchant (opening one
with a deposit when it has none or the last is spent), and retries the request once with
`PAYMENT-SIGNATURE`. It never pays past the budget: per request, per host and in total. A 402 it
will not pay is returned as it came.

    pay = Client(platform_url="http://127.0.0.1:8402", api_key="sk_test_…",
                 budget=Budget("USD", per_request="0.01", per_host="1.00", total="5.00"))
    with httpx.Client(transport=pay) as http:
        http.get("http://127.0.0.1:8001/articles/1")

Channel keys and chains live in this object's memory, and with `state=` in a file of the payer's
(`farthing.paywall.client_state`): the next run pays from the channel it left open instead of opening
another. A payer that loses them gets the unspent deposit back when the channel's time is over.
"""

from __future__ import annotations

import base64
import json
import os
import threading
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from nacl.signing import SigningKey

from farthing.clock import Clock, system_clock
from farthing.domain.channels import hashchain, vouchers
from farthing.domain.channels.ids import channel_number
from farthing.domain.money import Currency, currency
from farthing.paywall import client_state, wire


@dataclass(frozen=True)
class Budget:
    """What the payer allows, as decimal strings in one currency."""

    currency: str
    per_request: str
    per_host: str
    total: str

    def units(self) -> tuple[Currency, int, int, int]:
        cur = currency(self.currency)
        return cur, cur.parse(self.per_request), cur.parse(self.per_host), cur.parse(self.total)


@dataclass
class _Open:
    id: str
    number: int
    deposit: int
    key: SigningKey | None = None
    chain: list[bytes] = field(default_factory=list)
    unit: int = 0
    paid: int = 0
    sequence: int = 0
    expires_ms: int = 0
    seed: bytes = b""

    def record(self, platform: str, currency_code: str) -> dict[str, Any]:
        """What the state file keeps of it (its secrets included)."""
        return {"id": self.id, "deposit": self.deposit, "key": bytes(self.key).hex() if self.key else None,
                "seed": self.seed.hex() or None, "length": len(self.chain) - 1 if self.chain else 0,
                "unit": self.unit, "paid": self.paid, "sequence": self.sequence, "expires_ms": self.expires_ms,
                "platform": platform, "currency": currency_code}  # fmt: skip

    @classmethod
    def of(cls, r: dict[str, Any]) -> _Open:
        return cls(r["id"], channel_number(r["id"]), int(r["deposit"]), client_state.key_of(r),
                   client_state.chain_of(r), int(r["unit"]), int(r["paid"]), int(r["sequence"]),
                   int(r["expires_ms"]), bytes.fromhex(r["seed"] or ""))  # fmt: skip

    def can_pay(self, price: int) -> bool:
        return self.paid + self._cost(price) <= self.deposit

    def _cost(self, price: int) -> int:
        return price if self.key is not None else -(-price // self.unit) * self.unit

    def pay(self, price: int) -> dict[str, Any]:
        if self.key is not None:
            self.paid, self.sequence = self.paid + price, self.sequence + 1
            return wire.voucher_payload(self.id, vouchers.sign(self.key, self.number, self.paid, self.sequence))
        self.sequence += -(-price // self.unit)
        self.paid = self.sequence * self.unit
        return wire.chain_payload(
            self.id, hashchain.ChainPayment(self.number, self.sequence, self.chain[self.sequence])
        )

    def resync(self, accepted: int, sequence: int) -> None:
        """The merchant has seen less than this client signed (a request lost on the way): start from there."""
        if sequence < self.sequence and accepted <= self.paid:
            self.paid, self.sequence = accepted, sequence


class Client(httpx.BaseTransport):
    def __init__(
        self,
        *,
        platform_url: str,
        api_key: str,
        budget: Budget,
        deposit: str = "1.00",
        form: str = "voucher",
        channel_s: int = 24 * 3600,
        network: str = "farthing:local",
        inner: httpx.BaseTransport | None = None,
        state: Path | None = None,
        clock: Clock = system_clock,
    ) -> None:
        """`state`: a file (of the payer's alone) where open channels are kept for the next run; `clock`: what
        tells which kept channels have expired."""
        self.platform_url = platform_url.rstrip("/")
        self.network = network
        self.form = form
        self.channel_s = channel_s
        self.cur, self.per_request, self.per_host, self.total = budget.units()
        self.deposit = self.cur.parse(deposit)
        self.inner = inner or httpx.HTTPTransport()
        self.spent = 0
        self.spent_by_host: defaultdict[str, int] = defaultdict(int)
        self.channels: dict[str, _Open] = {}
        self._platform = httpx.Client(base_url=self.platform_url, headers={"Authorization": f"Bearer {api_key}"},
                                      timeout=30)  # fmt: skip
        self._lock = threading.Lock()
        self.state = state
        self.clock = clock
        if state is not None:
            self._reopen(state)

    def _reopen(self, state: Path) -> None:
        """The channels a run before left open, still open at the platform and not expired."""
        kept = client_state.load(state, self.platform_url, self.cur.code, self.clock())
        for merchant, record in kept.items():
            shown = self._platform.get(f"/v1/channels/{record['id']}")
            if shown.status_code == 200 and shown.json().get("status") == "open":
                self.channels[merchant] = _Open.of(record)
        self._save()

    def _save(self) -> None:
        if self.state is not None:
            client_state.save(self.state, {m: c.record(self.platform_url, self.cur.code)
                                           for m, c in self.channels.items()})  # fmt: skip

    def close(self) -> None:
        self._platform.close()
        self.inner.close()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        if response.status_code != 402:
            return response
        response.read()
        offer = self._offer(response)
        if offer is None:
            return response
        required, chosen = offer
        payload = self.pay_for(chosen, request.url.host)
        if payload is None:
            return response
        channel = self.channels[chosen["payTo"]]
        header = wire.b64json({"x402Version": 2, "resource": required.get("resource"), "accepted": chosen,
                               "payload": payload})  # fmt: skip
        request.headers["PAYMENT-SIGNATURE"] = header
        retry = self.inner.handle_request(request)
        if retry.status_code == 402:
            retry.read()
            self._resync(retry, channel)
        return retry

    def pay_for(self, requirement: dict[str, Any], host: str) -> dict[str, Any] | None:
        """The payload paying `requirement` (an x402 v2 requirement this payer accepts) from the channel
        to its merchant, or None when it would pass the budget."""
        price = int(requirement["amount"])
        with self._lock:
            if price > self.per_request or self.spent + price > self.total:
                return None
            if self.spent_by_host[host] + price > self.per_host:
                return None
            payload = self._channel(requirement["payTo"], price).pay(price)
            self.spent += price
            self.spent_by_host[host] += price
            self._save()  # before the payment leaves: never less than was signed
        return payload

    def accepts(self, requirement: dict[str, Any]) -> bool:
        """Farthing's scheme on this payer's network, currency and platform."""
        r, extra = requirement, requirement.get("extra") or {}
        return (r.get("scheme"), r.get("network"), r.get("asset")) == (wire.SCHEME, self.network, self.cur.code) and (
            str(extra.get("platform", "")).rstrip("/") == self.platform_url and str(r.get("amount", "")).isdigit()
        )

    def _offer(self, response: httpx.Response) -> tuple[dict[str, Any], dict[str, Any]] | None:
        raw = response.headers.get("payment-required")
        if raw is None:
            return None
        try:
            required = json.loads(base64.b64decode(raw))
        except ValueError:
            return None
        for r in required.get("accepts", []):
            if isinstance(r, dict) and self.accepts(r):
                return required, r
        return None

    def _channel(self, merchant: str, price: int) -> _Open:
        channel = self.channels.get(merchant)
        if channel is not None and channel.can_pay(price):
            return channel
        if channel is not None:  # spent: the merchant keeps its dispute window to redeem it
            self._platform.post(f"/v1/channels/{channel.id}/close")
        deposit = max(min(self.deposit, self.total - self.spent), price)
        body: dict[str, Any] = {"merchant": merchant, "currency": self.cur.code, "form": self.form,
                                "expires_in_s": self.channel_s}  # fmt: skip
        key, chain, unit, seed = None, [], 0, b""
        if self.form == "voucher":
            key = SigningKey.generate()
            body["public_key"] = bytes(key.verify_key).hex()
        else:
            unit = price
            length = max(deposit // unit, 1)
            deposit = length * unit
            seed = os.urandom(hashchain.ELEMENT_BYTES)
            chain = hashchain.chain(seed, length)
            body.update(root=chain[0].hex(), unit=self.cur.format(unit), length=length)
        body["deposit"] = self.cur.format(deposit)
        r = self._platform.post("/v1/channels", json=body)
        if r.status_code != 201:
            raise httpx.HTTPStatusError(f"could not open a channel: {r.text}", request=r.request, response=r)
        opened = r.json()
        channel = _Open(opened["id"], channel_number(opened["id"]), deposit, key, chain, unit,
                        expires_ms=int(opened["expires_ms"]), seed=seed)  # fmt: skip
        self.channels[merchant] = channel
        self._save()
        return channel

    def _resync(self, response: httpx.Response, channel: _Open) -> None:
        try:
            required = json.loads(base64.b64decode(response.headers.get("payment-required", "")))
            state = required["accepts"][0]["extra"]["channel"]
        except (ValueError, KeyError, IndexError, TypeError):
            return
        if state.get("id") == channel.id:
            with self._lock:
                channel.resync(int(state["accepted"]), int(state["sequence"]))
