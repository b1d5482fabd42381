"""Token buckets, per API key and per client IP: in this process, or in Redis shared by every server.

A bucket holds up to `burst` tokens and refills at `rate` a second; a request takes one. The Redis
bucket is one Lua script (atomic, on Redis's clock), so several server processes share one limit.
Keys are never stored: a bucket is named by a SHA-256 prefix of the credential.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass
from typing import Any, Protocol

from farthing.errors import ErrorCode, FarthingError

_SCRIPT = """
local now = redis.call('TIME')
local now_ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local rate, burst = tonumber(ARGV[1]), tonumber(ARGV[2])
local state = redis.call('HMGET', KEYS[1], 't', 'ts')
local tokens = tonumber(state[1]) or burst
local ts = tonumber(state[2]) or now_ms
tokens = math.min(burst, tokens + math.max(0, now_ms - ts) * rate / 1000)
local allowed, wait = 0, 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
else
  wait = math.ceil((1 - tokens) * 1000 / rate)
end
redis.call('HSET', KEYS[1], 't', string.format('%.6f', tokens), 'ts', now_ms)
redis.call('PEXPIRE', KEYS[1], math.ceil(burst * 1000 / rate) + 1000)
return {allowed, wait}
"""


@dataclass(frozen=True, slots=True)
class Limit:
    rate: float
    """Tokens added a second."""
    burst: int

    @classmethod
    def parse(cls, text: str) -> Limit:
        """`100/s:200` (100 a second, bursts of 200) or `100/s` (bursts of one second's worth)."""
        try:
            per, _, burst = text.partition(":")
            amount, _, unit = per.partition("/")
            seconds = {"s": 1, "m": 60, "h": 3600}[unit.strip() or "s"]
            rate = float(amount) / seconds
            limit = cls(rate, int(burst) if burst else max(1, math.ceil(rate)))
        except (ValueError, KeyError):
            raise FarthingError(
                ErrorCode.validation_failed, f"a rate limit looks like 100/s:200, not {text!r}"
            ) from None
        if limit.rate <= 0 or limit.burst < 1:
            raise FarthingError(ErrorCode.validation_failed, f"a rate limit must be positive: {text!r}")
        return limit


class Buckets(Protocol):
    async def take(self, name: str, limit: Limit) -> float:
        """0 when the request may go; else the seconds to wait before a token is there."""
        ...


class MemoryBuckets:
    def __init__(self, clock: Any = time.monotonic, size_max: int = 100_000) -> None:
        self._clock = clock
        self._state: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()
        self._size_max = size_max

    async def take(self, name: str, limit: Limit) -> float:
        return self.take_now(name, limit)

    def take_now(self, name: str, limit: Limit) -> float:
        now = self._clock()
        with self._lock:
            tokens, ts = self._state.get(name, (float(limit.burst), now))
            tokens = min(float(limit.burst), tokens + (now - ts) * limit.rate)
            if tokens >= 1:
                if len(self._state) >= self._size_max:
                    self._state.clear()
                self._state[name] = (tokens - 1, now)
                return 0.0
            self._state[name] = (tokens, now)
            return (1 - tokens) / limit.rate


class RedisBuckets:
    def __init__(self, url: str) -> None:
        import redis.asyncio

        self._redis = redis.asyncio.Redis.from_url(url)
        self._script = self._redis.register_script(_SCRIPT)

    async def take(self, name: str, limit: Limit) -> float:
        allowed, wait_ms = await self._script(keys=[f"farthing:rl:{name}"], args=[limit.rate, limit.burst])
        return 0.0 if int(allowed) else int(wait_ms) / 1000

    async def close(self) -> None:
        await self._redis.aclose()
