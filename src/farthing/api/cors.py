"""CORS for merchants' own origins: a page on an origin a merchant registered (`PUT /v1/checkout_origins`)
may call the API from a browser, with a key (never with the payer's session cookie: no credentials are
allowed, so a merchant's page cannot act as the signed-in payer). Preflights from such an origin are
answered here; from any other origin they are refused with a problem, and no answer carries CORS headers
for it, so the browser keeps its pages out."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from farthing.api import problems
from farthing.errors import ErrorCode

ALLOWED_HEADERS = b"authorization, content-type, idempotency-key, request-id"
EXPOSED_HEADERS = b"request-id, idempotent-replayed, retry-after, payment-required, payment-response"
MAX_AGE_S = b"600"


class MerchantCors:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        origin = None
        if scope["type"] == "http" and scope["path"].startswith("/v1/"):
            origin = next((v for n, v in scope["headers"] if n == b"origin"), None)
        if origin is None:
            await self.app(scope, receive, send)
            return
        host = next((v for n, v in scope["headers"] if n == b"host"), b"")
        if origin == scope.get("scheme", "http").encode() + b"://" + host:  # this server's own pages
            await self.app(scope, receive, send)
            return
        checkout, asked = scope["app"].state.platform.checkout, origin.decode("latin-1")
        allowed = checkout.registered_now(asked)  # known in memory: no hop to a worker thread
        if allowed is None:
            allowed = await run_in_threadpool(checkout.registered, asked)
        preflight = scope["method"] == "OPTIONS" and any(
            n == b"access-control-request-method" for n, _ in scope["headers"]
        )
        if preflight:
            if not allowed:
                refused = problems.problem(ErrorCode.forbidden, "this origin is not one a merchant registered")
                await refused(scope, receive, send)
                return
            headers = [(b"access-control-allow-origin", origin), (b"vary", b"Origin"),
                       (b"access-control-allow-methods", b"GET, POST, PUT, PATCH, DELETE"),
                       (b"access-control-allow-headers", ALLOWED_HEADERS), (b"access-control-max-age", MAX_AGE_S),
                       (b"content-length", b"0")]  # fmt: skip
            await send({"type": "http.response.start", "status": 204, "headers": headers})
            await send({"type": "http.response.body", "body": b""})
            return
        if not allowed:
            await self.app(scope, receive, send)
            return

        async def with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                cors = [(b"access-control-allow-origin", origin), (b"vary", b"Origin"),
                        (b"access-control-expose-headers", EXPOSED_HEADERS)]  # fmt: skip
                message["headers"] = [*message.get("headers", ()), *cors]
            await send(message)

        await self.app(scope, receive, with_cors)
