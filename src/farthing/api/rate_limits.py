"""Rate limits as pure ASGI middleware: a token bucket per API key and per client IP, answered with 429
`rate_limited` and `Retry-After` (whole seconds) when empty. Settings: `FARTHING_RATE_LIMIT_KEY`
(default 5000/s:10000), `FARTHING_RATE_LIMIT_IP` (default 10000/s:20000), `off` to disable one; the
buckets live in Redis when `FARTHING_REDIS_URL` is set (shared by every server), else in the process."""

from __future__ import annotations

import hashlib
import math
import os

from starlette.types import ASGIApp, Receive, Scope, Send

from farthing.adapters.rate_limit import Buckets, Limit, MemoryBuckets, RedisBuckets
from farthing.api import problems
from farthing.errors import ErrorCode

DEFAULT_KEY, DEFAULT_IP = "5000/s:10000", "10000/s:20000"


def _limit(name: str, default: str) -> Limit | None:
    text = os.environ.get(name, default).strip()
    return None if text.lower() == "off" else Limit.parse(text)


def buckets_from_env() -> Buckets:
    url = os.environ.get("FARTHING_REDIS_URL")
    return RedisBuckets(url) if url else MemoryBuckets()


class RateLimiter:
    def __init__(self, app: ASGIApp, buckets: Buckets | None = None) -> None:
        self.app = app
        self.per_key = _limit("FARTHING_RATE_LIMIT_KEY", DEFAULT_KEY)
        self.per_ip = _limit("FARTHING_RATE_LIMIT_IP", DEFAULT_IP)
        self.buckets = buckets or buckets_from_env()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or (self.per_key is None and self.per_ip is None):
            await self.app(scope, receive, send)
            return
        wait = 0.0
        if self.per_ip is not None and scope.get("client"):
            wait = await self.buckets.take(f"ip:{scope['client'][0]}", self.per_ip)
        if not wait and self.per_key is not None:
            for name, value in scope["headers"]:
                if name == b"authorization":
                    digest = hashlib.sha256(value).hexdigest()[:24]
                    wait = await self.buckets.take(f"key:{digest}", self.per_key)
                    break
        if wait:
            seconds = max(1, math.ceil(wait))
            refusal = problems.problem(
                ErrorCode.rate_limited,
                f"too many requests; retry in {seconds} s",
                headers={"Retry-After": str(seconds)},
            )
            await refusal(scope, receive, send)
            return
        await self.app(scope, receive, send)
