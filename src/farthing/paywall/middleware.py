"""`Paywall`: ASGI middleware that answers HTTP 402 for priced routes and serves them once paid.

Price routes with `@price("0.0005 USD")` on the endpoint, or with a rule table of path patterns
(`{"/articles/*": "0.0002 USD"}`). An unpaid request gets 402 with the x402 v2 `PAYMENT-REQUIRED`
header (and the v1 requirements as its JSON body). A paid request carries `PAYMENT-SIGNATURE` (or v1
`X-PAYMENT`) with a voucher or chain element on a channel the payer opened to this merchant; the
paywall checks it locally (`farthing.domain.channels.rules`), keeps it on disk, then serves the
content with `PAYMENT-RESPONSE`. The platform is asked only once per channel, for its terms. A browser
(`Accept: text/html`) that does not pay so gets a page with the price and the platform's checkout instead
(`farthing.paywall.readers`).
"""

from __future__ import annotations

import asyncio
import dataclasses
import fnmatch
import json
import time
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import httpx
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from farthing.clock import Clock, system_clock
from farthing.domain.channels import rules
from farthing.domain.channels.ids import channel_number
from farthing.domain.channels.rules import ChannelRefused, Form
from farthing.domain.money import Currency, currency
from farthing.errors import ErrorCode, FarthingError
from farthing.paywall import wire
from farthing.paywall.auto_redeem import AutoRedeem
from farthing.paywall.readers import Readers
from farthing.paywall.store import ChannelBook, Known, terms_of

_F = TypeVar("_F", bound=Callable[..., Any])
PRICE_ATTRIBUTE = "__farthing_price__"
CHAIN_STEPS_PER_PRICE_MAX = 1_000
"""A chain payment may pay for at most this many prices at once (bounds the hashing a request costs)."""
UNKNOWN_CHANNELS_MAX = 10_000
PRICED_PATHS_MAX = 10_000
CLOSED_CHECK_S = 5.0
"""How often a channel in use is checked for a close: against the book (a close by `farthing paywall redeem
--close` in another process) and against the platform (the payer began to close it). So a paywall stops
accepting a channel's vouchers at most this long after its close began (bounded staleness); whatever it
accepted until then stays redeemable, since the platform keeps every channel's dispute window at least
`farthing.limits.channel_dispute_s_min` (an hour by default) after the close."""
_EXPOSE_RESPONSE = (b"access-control-expose-headers", b"PAYMENT-RESPONSE, X-PAYMENT-RESPONSE")


def price(text: str) -> Callable[[_F], _F]:
    """Price an endpoint: `@price("0.0005 USD")` (amount in major units, then the ISO 4217 code)."""
    parse_price(text)

    def mark(endpoint: _F) -> _F:
        setattr(endpoint, PRICE_ATTRIBUTE, text)
        return endpoint

    return mark


def parse_price(text: str) -> tuple[int, Currency]:
    amount, _, code = text.strip().partition(" ")
    cur = currency(code.strip())
    units = cur.parse(amount)
    if units <= 0:
        raise ValueError(f"a price must be more than zero: {text!r}")
    return units, cur


class _Channel:
    def __init__(self, known: Known, checked: float) -> None:
        self.known = known
        self.last = known.accepted
        self.checked = checked
        """When its close was last looked for (time.monotonic()); 0: never."""


class Paywall:
    def __init__(
        self,
        app: ASGIApp,
        *,
        platform_url: str,
        merchant: str,
        api_key: str,
        store: str = "paywall.db",
        rules: Mapping[str, str] | None = None,
        network: str = "farthing:local",
        description: str = "",
        clock_ms: Clock = system_clock,
        transport: httpx.AsyncBaseTransport | None = None,
        redeem_every_s: float | None = 600.0,
    ) -> None:
        """`redeem_every_s`: how often the paywall redeems its channels by itself (`farthing.paywall.auto_redeem`;
        None: never, `farthing paywall redeem` does it)."""
        self.app = app
        self.platform_url = platform_url.rstrip("/")
        self.merchant = merchant
        self.network = network
        self.description = description
        self.clock_ms = clock_ms
        self.rules = [(pattern, parse_price(text)) for pattern, text in (rules or {}).items()]
        self.book = ChannelBook(store)
        self._api_key = api_key
        self._transport = transport
        self._http: httpx.AsyncClient | None = None
        self._channels: dict[str, _Channel] = {}
        self._unknown: set[str] = set()
        self._prices: dict[tuple[str, str], tuple[int, Currency] | None] = {}
        self.readers = Readers(self.platform_url, merchant, api_key, store, description, clock_ms, self._client)
        self.redeemer = (AutoRedeem(store, self.platform_url, api_key, redeem_every_s, clock_ms)
                         if redeem_every_s is not None and transport is None else None)  # fmt: skip

    # -- pricing ---------------------------------------------------------------------------------

    def price_of(self, scope: Scope) -> tuple[int, Currency] | None:
        """The route's price, remembered per method and path (matching routes was a tenth of a request)."""
        key = (scope["method"], scope["path"])
        try:
            return self._prices[key]
        except KeyError:
            pass
        found = self._price_of(scope)
        if len(self._prices) >= PRICED_PATHS_MAX:
            self._prices.clear()
        self._prices[key] = found
        return found

    def _price_of(self, scope: Scope) -> tuple[int, Currency] | None:
        path = scope["path"]
        for pattern, found in self.rules:
            if fnmatch.fnmatchcase(path, pattern):
                return found
        router = getattr(scope.get("app"), "router", None)
        for route in getattr(router, "routes", ()):
            match, _ = route.matches(scope)
            if match is Match.FULL:
                text = getattr(getattr(route, "endpoint", None), PRICE_ATTRIBUTE, None)
                return parse_price(text) if text else None
        return None

    def requirement(self, units: int, cur: Currency, known: _Channel | None = None) -> wire.Requirement:
        extra: dict[str, Any] = {
            "binding": "farthing-channel", "forms": [f.value for f in Form], "platform": self.platform_url,
            "openChannel": f"{self.platform_url}/v1/channels", "decimals": cur.scale,
        }  # fmt: skip
        if known is not None:  # where the payer's channel stands here, so that a payer that lost track resyncs
            extra["channel"] = {"id": known.known.id, "accepted": str(known.last.amount),
                                "sequence": known.last.sequence}  # fmt: skip
        return wire.Requirement(self.network, units, cur.code, self.merchant, extra)

    # -- ASGI ------------------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        priced = self.price_of(scope)
        if priced is None:
            await self.app(scope, receive, send)
            return
        units, cur = priced
        raw = v1 = None
        for name, value in scope["headers"]:
            if name == b"payment-signature":
                raw = value
            elif name == b"x-payment":
                v1 = value
        header = raw if raw is not None else v1
        version = 2 if raw is not None else 1
        if header is None:
            if not self.readers.is_browser(scope):
                await self._required(scope, send, units, cur, None, "payment required", version)
            elif self.readers.granted(scope):  # paid by checkout before: the path's cookie opens it
                await self.app(scope, receive, send)
            elif not await self.readers.open_with_allowance(scope, receive, send, units, cur, self.app):
                await self.readers.answer(scope, send, units, cur)
            return
        try:
            paid = wire.decode(header, self._number)
        except wire.PaymentHeaderInvalid as bad:
            await self._refuse(scope, send, 400, units, cur, None, bad.code, bad.detail, version)
            return
        channel = None
        try:
            self._match(paid, units, cur)
            channel = await self._channel(paid.channel, cur)
            if channel.known.closed:
                raise FarthingError(
                    ErrorCode.channel_closed, "the channel is closed or closing; it accepts nothing more"
                )
            terms = channel.known.terms
            most = max(units, terms.unit) * CHAIN_STEPS_PER_PRICE_MAX if terms.form is Form.hashchain else None
            # Checked and recorded with no await in between: a concurrent payment on the same channel is
            # checked against this one (the writer keeps them in order, the highest last).
            accepted = rules.accept(terms, channel.last, paid.payment, self.clock_ms(), price=units, most=most)
            channel.last = accepted
            await self.book.keep(paid.channel, accepted)
        except FarthingError as refused:
            await self._refuse(scope, send, 402, units, cur, channel, refused.code, refused.detail, paid.version)
            return
        answer = wire.settled(self.network, f"{paid.channel}:{accepted.sequence}", channel.known.customer, units)
        name = b"payment-response" if paid.version == 2 else b"x-payment-response"

        async def send_with_receipt(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), (name, answer), _EXPOSE_RESPONSE]
            await send(message)

        await self.app(scope, receive, send_with_receipt)

    def _number(self, channel_id: str) -> int:
        known = self._channels.get(channel_id)
        return known.known.terms.channel_id if known is not None else channel_number(channel_id)

    def _match(self, paid: wire.Paid, units: int, cur: Currency) -> None:
        if paid.scheme != wire.SCHEME:
            raise FarthingError(ErrorCode.payment_header_invalid, f"unsupported scheme {paid.scheme!r}")
        if paid.network != self.network:
            raise FarthingError(ErrorCode.payment_header_invalid, f"this paywall is on network {self.network!r}")
        a = paid.accepted
        if a and (a.get("amount") != str(units) or a.get("asset") != cur.code or a.get("payTo") != self.merchant):
            raise FarthingError(
                ErrorCode.payment_insufficient,
                f"this resource costs {units} atomic units of {cur.code} paid to {self.merchant}",
            )

    async def _channel(self, channel_id: str, cur: Currency) -> _Channel:
        found = self._channels.get(channel_id)
        if found is not None:
            if not found.known.closed and time.monotonic() - found.checked > CLOSED_CHECK_S:
                found.checked = time.monotonic()
                closed = await asyncio.to_thread(self.book.is_closed, channel_id)  # by `paywall redeem --close`?
                if closed or await self._closing(channel_id):  # or is its payer closing it?
                    found.known = dataclasses.replace(found.known, closed=True)
            if found.known.currency != cur.code:
                raise FarthingError(ErrorCode.currency_mismatch, f"the channel pays in {found.known.currency}")
            return found
        known, checked = await asyncio.to_thread(self.book.find, channel_id), 0.0
        if known is None:  # learned from the platform now, open: no need to ask again for a while
            known, checked = await self._learn(channel_id), time.monotonic()
        found = self._channels.setdefault(channel_id, _Channel(known, checked))
        if not checked and not known.closed:  # known from the book: closed meanwhile, while this was down?
            found.checked = time.monotonic()
            if await self._closing(channel_id):
                found.known = dataclasses.replace(found.known, closed=True)
        if known.currency != cur.code:
            raise FarthingError(ErrorCode.currency_mismatch, f"the channel pays in {known.currency}")
        return found

    async def _closing(self, channel_id: str) -> bool:
        """Whether the platform says the channel's close has begun (its payer's, or its merchant's). When the
        platform cannot be asked, the paywall keeps serving on what it checked last: channels are paid
        off-ledger so that a paywall works while the platform is away."""
        try:
            r = await self._channel_from_platform(channel_id)
        except httpx.TransportError:
            return False
        return r.status_code == 200 and r.json().get("status") != "open"

    def _client(self) -> httpx.AsyncClient:
        """The client to the platform, made on first use."""
        if self._http is None:
            self._http = httpx.AsyncClient(transport=self._transport, timeout=10)
        return self._http

    async def _channel_from_platform(self, channel_id: str) -> httpx.Response:
        """`GET /v1/channels/{id}` with the merchant's key."""
        return await self._client().get(
            f"{self.platform_url}/v1/channels/{channel_id}", headers={"Authorization": f"Bearer {self._api_key}"}
        )

    async def _learn(self, channel_id: str) -> Known:
        """Ask the platform, once, for the terms of a channel this paywall has not seen."""
        if channel_id in self._unknown:
            raise FarthingError(ErrorCode.channel_mismatch, "no open channel to this merchant has that id")
        r = await self._channel_from_platform(channel_id)
        if r.status_code == 404:
            if len(self._unknown) >= UNKNOWN_CHANNELS_MAX:
                self._unknown.clear()
            self._unknown.add(channel_id)
            raise FarthingError(ErrorCode.channel_mismatch, "no open channel to this merchant has that id")
        if r.status_code != 200:
            raise FarthingError(ErrorCode.store_unavailable, f"the platform answered {r.status_code}")
        body = r.json()
        if body["merchant"] != self.merchant or body["status"] != "open":
            raise FarthingError(ErrorCode.channel_closed, "the channel is not open for this merchant")
        terms = terms_of(channel_id, body)
        return await asyncio.to_thread(self.book.learn, channel_id, body["customer"], body["currency"], terms)

    # -- answers ---------------------------------------------------------------------------------

    async def _required(
        self, scope: Scope, send: Send, units: int, cur: Currency, channel: _Channel | None, error: str, version: int
    ) -> None:
        await self._answer(scope, send, 402, units, cur, channel, error, None, version)

    async def _refuse(
        self, scope: Scope, send: Send, status: int, units: int, cur: Currency, channel: _Channel | None,
        code: str, detail: str, version: int,
    ) -> None:  # fmt: skip
        await self._answer(scope, send, status, units, cur, channel, f"{code}: {detail}", code, version)

    async def _answer(
        self, scope: Scope, send: Send, status: int, units: int, cur: Currency, channel: _Channel | None,
        error: str, code: str | None, version: int,
    ) -> None:  # fmt: skip
        url = _url(scope)
        accepts = [self.requirement(units, cur, channel)]
        required = wire.b64json(wire.required_v2(url, self.description, accepts, error if code else None))
        body = wire.required_v1(url, self.description, accepts, error)
        if code is not None:
            body["code"] = code
        headers = [(b"content-type", b"application/json"), (b"payment-required", required.encode()),
                   (b"access-control-expose-headers", b"PAYMENT-REQUIRED, PAYMENT-RESPONSE")]  # fmt: skip
        if code is not None:
            receipt = wire.settlement(False, self.network, "", "", 0, code).encode()
            headers.append((b"payment-response" if version == 2 else b"x-payment-response", receipt))
        payload = json.dumps(body, separators=(",", ":")).encode()
        headers.append((b"content-length", str(len(payload)).encode()))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": payload})

    # -- redemption ------------------------------------------------------------------------------

    def close(self) -> None:
        if self.redeemer is not None:
            self.redeemer.close()
        self.book.close()
        self.readers.close()


def _url(scope: Scope) -> str:
    host = next((v.decode("latin-1") for n, v in scope["headers"] if n == b"host"), "localhost")
    query = scope.get("query_string", b"").decode("latin-1")
    return f"{scope.get('scheme', 'http')}://{host}{scope['path']}" + (f"?{query}" if query else "")


__all__ = ["ChannelRefused", "Paywall", "parse_price", "price"]
