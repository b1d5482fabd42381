"""Readers in a browser, beside the programs that pay by x402: a browser asking for a priced page without
paying (its `Accept` names `text/html`) gets a page with the price and a link to the platform's hosted
checkout, made for this path; it comes back with the platform's receipt, which is checked here, offline
(`farthing.domain.receipts`: the platform's key, fetched once; this merchant; in its time; the session one
this paywall made for this path; once), and turned into a cookie that opens this path from then on.

The cookie is this paywall's HMAC of the path, scoped to the path: nothing on the platform is asked again
for a page already paid. The sessions made and the receipts taken are kept in the paywall's own store.
A reader who granted the merchant a one-click allowance at checkout (the receipt names it) gets a second
cookie with it, and its next unpaid pages are charged to the allowance with no click; a charge outside the
allowance (revoked, spent) takes nothing (its waiting payment is released) and the reader is asked again.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import html
import secrets
import sqlite3
import threading
from collections.abc import Callable
from http.cookies import SimpleCookie
from urllib.parse import parse_qsl, urlencode

import httpx
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from farthing.clock import Clock
from farthing.domain import receipts
from farthing.domain.money import Currency
from farthing.domain.receipts import ReceiptRefused
from farthing.errors import ErrorCode, FarthingError

RECEIPT_PARAMETER = "farthing_receipt"
GRANT_PREFIX = "farthing_grant_"
GRANT_DAYS = 30
ALLOWANCE_COOKIE = "farthing_allowance"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS reader_checkouts (
    session TEXT PRIMARY KEY, path TEXT NOT NULL, created_ms INTEGER NOT NULL, used_ms INTEGER
);
CREATE TABLE IF NOT EXISTS reader_secret (id INTEGER PRIMARY KEY CHECK (id = 1), value BLOB NOT NULL);
"""


class ReaderBook:
    """The checkouts this paywall made (session → path) and whether their receipt was taken, and the secret
    its cookies are signed with: in the paywall's own SQLite file."""

    def __init__(self, path: str) -> None:
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._conn.execute("PRAGMA busy_timeout=5000")
        self._conn.executescript(_SCHEMA)
        self._lock = threading.Lock()
        self._conn.execute("INSERT OR IGNORE INTO reader_secret VALUES (1, ?)", (secrets.token_bytes(32),))
        self.secret = bytes(self._conn.execute("SELECT value FROM reader_secret WHERE id = 1").fetchone()[0])

    def remember(self, session: str, path: str, now_ms: int) -> None:
        with self._lock:
            self._conn.execute("INSERT INTO reader_checkouts VALUES (?, ?, ?, NULL)", (session, path, now_ms))

    def take(self, session: str, path: str, now_ms: int) -> bool:
        """Mark the session's receipt taken, if the session was made here for this path and never taken."""
        with self._lock:
            done = self._conn.execute(
                "UPDATE reader_checkouts SET used_ms = ? WHERE session = ? AND path = ? AND used_ms IS NULL "
                "RETURNING session",
                (now_ms, session, path),
            ).fetchall()
        return bool(done)

    def close(self) -> None:
        with self._lock:
            self._conn.close()


class Readers:
    def __init__(
        self, platform_url: str, merchant: str, api_key: str, store: str, description: str, clock_ms: Clock,
        client: Callable[[], httpx.AsyncClient],
    ) -> None:  # fmt: skip
        self.platform_url = platform_url
        self.merchant = merchant
        self.description = description or "this page"
        self.clock_ms = clock_ms
        self.book = ReaderBook(store)
        self._auth = {"Authorization": f"Bearer {api_key}"}
        self._client = client
        self._key: bytes | None = None
        self._origins: set[str] = set()

    @staticmethod
    def is_browser(scope: Scope) -> bool:
        accept = next((v for n, v in scope["headers"] if n == b"accept"), b"")
        return b"text/html" in accept

    def grant(self, path: str) -> tuple[str, str]:
        """The cookie (name, value) that opens `path`."""
        name = GRANT_PREFIX + hashlib.sha256(path.encode()).hexdigest()[:16]
        value = hmac.new(self.book.secret, f"{self.merchant}:{path}".encode(), hashlib.sha256).hexdigest()[:40]
        return name, value

    def granted(self, scope: Scope) -> bool:
        name, value = self.grant(scope["path"])
        found = _cookie(scope, name)
        return found is not None and hmac.compare_digest(found, value)

    def _allowance_value(self, allowance: str) -> str:
        mac = hmac.new(self.book.secret, f"allowance:{allowance}".encode(), hashlib.sha256).hexdigest()[:32]
        return f"{allowance}.{mac}"

    def allowance_of(self, scope: Scope) -> str | None:
        """The allowance this reader granted the merchant at a checkout (the cookie this paywall set)."""
        found = _cookie(scope, ALLOWANCE_COOKIE)
        if found is None:
            return None
        allowance = found.split(".")[0]
        return allowance if hmac.compare_digest(found, self._allowance_value(allowance)) else None

    async def open_with_allowance(
        self, scope: Scope, receive: Receive, send: Send, units: int, cur: Currency, app: ASGIApp
    ) -> bool:
        """Charge the reader's allowance for this page and serve it (with the page's cookie): True; False
        when there is none, or the charge is outside it (then nothing is taken: the waiting payment is
        released)."""
        allowance = self.allowance_of(scope)
        if allowance is None:
            return False
        http = self._client()
        body = {"amount": cur.format(units), "reference": scope["path"][:255]}
        charged = await http.post(f"{self.platform_url}/v1/allowances/{allowance}/charges", json=body,
                                  headers=self._auth)  # fmt: skip
        if charged.status_code != 201:
            return False
        answer = charged.json()
        if not answer["within"]:
            await http.post(f"{self.platform_url}/v1/payments/{answer['payment']['id']}/void", headers=self._auth)
            return False
        name, value = self.grant(scope["path"])
        cookie = f"{name}={value}; Path={scope['path']}; Max-Age={GRANT_DAYS * 86_400}; HttpOnly; SameSite=Lax"

        async def with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), (b"set-cookie", cookie.encode())]
            await send(message)

        await app(scope, receive, with_cookie)
        return True

    async def answer(self, scope: Scope, send: Send, units: int, cur: Currency) -> None:
        """An unpaid browser: open the page for a receipt brought back, else offer the checkout."""
        query = parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
        token = next((v for k, v in query if k == RECEIPT_PARAMETER), None)
        origin = _origin(scope)
        rest = urlencode([(k, v) for k, v in query if k != RECEIPT_PARAMETER])
        here = scope["path"] + (f"?{rest}" if rest else "")
        problem = None
        if token is not None:
            try:
                receipt = await self._take(token, scope["path"], units, cur)
            except (ReceiptRefused, FarthingError) as refused:
                problem = refused.detail
            else:
                name, value = self.grant(scope["path"])
                age = GRANT_DAYS * 86_400
                cookies = [f"{name}={value}; Path={scope['path']}; Max-Age={age}; HttpOnly; SameSite=Lax"]
                if receipt.allowance:  # later pages are charged to it, without asking
                    allowed = self._allowance_value(receipt.allowance)
                    cookies.append(f"{ALLOWANCE_COOKIE}={allowed}; Path=/; Max-Age={age}; HttpOnly; SameSite=Lax")
                headers = [(b"location", here.encode()), *((b"set-cookie", c.encode()) for c in cookies)]
                await _send(send, 303, b"", headers)
                return
        try:
            pay_url = await self._checkout(origin, here, scope["path"], units, cur)
        except (httpx.HTTPError, FarthingError) as failed:
            detail = failed.detail if isinstance(failed, FarthingError) else "the payment platform did not answer"
            await _send(send, 503, _page(self.description, cur.format(units), cur.code, None, detail), _HTML)
            return
        await _send(send, 402, _page(self.description, cur.format(units), cur.code, pay_url, problem), _HTML)

    async def _take(self, token: str, path: str, units: int, cur: Currency) -> receipts.Receipt:
        receipt = receipts.verify(token, await self._receipt_key(), self.merchant, self.clock_ms())
        if receipt.currency != cur.code or cur.parse(receipt.amount) != units:
            raise ReceiptRefused(ErrorCode.receipt_invalid, "this receipt paid another price")
        if not await asyncio.to_thread(self.book.take, receipt.session, path, self.clock_ms()):
            raise ReceiptRefused(ErrorCode.receipt_invalid, "this receipt was used already, or is for another page")
        return receipt

    async def _receipt_key(self) -> bytes:
        if self._key is None:
            r = await self._client().get(f"{self.platform_url}/v1/platform/receipt_key")
            r.raise_for_status()
            text = r.json()["public_key"]
            self._key = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        return self._key

    async def _checkout(self, origin: str, here: str, path: str, units: int, cur: Currency) -> str:
        """A checkout session for this page: the platform's page to send the reader to."""
        http = self._client()
        if origin not in self._origins:  # registered once: the platform sends readers back only to known origins
            known = (await http.get(f"{self.platform_url}/v1/checkout_origins", headers=self._auth)).json()
            if origin not in known.get("origins", []):
                body = {"origins": [*known.get("origins", []), origin]}
                (
                    await http.put(f"{self.platform_url}/v1/checkout_origins", json=body, headers=self._auth)
                ).raise_for_status()
            self._origins.add(origin)
        body = {"amount": cur.format(units), "currency": cur.code, "description": self.description[:200],
                "return_url": origin + here}  # fmt: skip
        made = await http.post(f"{self.platform_url}/v1/checkout_sessions", json=body, headers=self._auth)
        if made.status_code != 201:
            raise FarthingError(ErrorCode.store_unavailable, f"the platform refused a checkout: {made.text[:200]}")
        session = made.json()
        await asyncio.to_thread(self.book.remember, session["id"], path, self.clock_ms())
        return f"{self.platform_url}{session['url']}"

    def close(self) -> None:
        self.book.close()


_HTML = [(b"content-type", b"text/html; charset=utf-8")]


def _cookie(scope: Scope, name: str) -> str | None:
    """The value of the request's cookie `name`, if it sent one."""
    for header_name, header in scope["headers"]:
        if header_name == b"cookie":
            jar: SimpleCookie = SimpleCookie()
            jar.load(header.decode("latin-1"))
            found = jar.get(name)
            if found is not None:
                return found.value
    return None


def _origin(scope: Scope) -> str:
    host = next((v.decode("latin-1") for n, v in scope["headers"] if n == b"host"), "localhost")
    return f"{scope.get('scheme', 'http')}://{host}"


def _page(description: str, amount: str, code: str, pay_url: str | None, problem: str | None) -> bytes:
    """The page an unpaid reader sees: what it costs, and the way to pay."""
    said = f'<p role="alert">{html.escape(problem)}</p>' if problem else ""
    pay = f'<p><a href="{html.escape(pay_url)}">Pay with Farthing</a></p>' if pay_url else ""
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Payment required</title></head>'
        f"<body><main><h1>Payment required</h1><p>{html.escape(description)}: {amount} {code}.</p>{said}{pay}"
        "</main></body></html>"
    ).encode()


async def _send(send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]]) -> None:
    headers = [*headers, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
