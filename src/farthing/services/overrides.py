"""A merchant's override of the platform's policy: a TOML pack (`merchant_override = true`) composed
over the pack that decides one currency. It may tighten limits, SCA thresholds and consumer rules,
never loosen a legal one (`farthing.domain.policy.load.compose` checks); a refused override leaves
the one in force unchanged.

The payment path asks `policy(base, merchant)` for every payment: the composed policy is remembered
per merchant and currency. Every put or drop bumps one counter (`policy_epoch`) in the same transaction;
each process reads that row at most once every `CACHE_S` and forgets what it remembered when it moved,
so a change made through one server process applies in every process within that time, and a quiet
platform reads one row a second, not one per merchant.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from farthing.domain.policy.load import PolicyError, compose, parse
from farthing.domain.policy.model import Policy
from farthing.errors import ErrorCode
from farthing.services.blocking import may_block
from farthing.services.policies import shipped

_log = logging.getLogger("farthing.overrides")
CACHE_S = 1.0
SOURCE_MAX = 64 * 1024
"""The longest override text kept (characters)."""


class OverrideError(Exception):
    def __init__(self, code: ErrorCode, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


@dataclass(frozen=True, slots=True)
class Override:
    merchant: str
    currency: str
    source: str
    policy: Policy
    """The base pack with the override on top, as the payment path decides by it."""
    updated_ms: int


class OverrideRepository(Protocol):
    """Merchants' override texts and the epoch each change bumps; SQL in `farthing.adapters.policy_sql`."""

    def get(self, merchant: str, currency: str) -> tuple[str, int] | None:
        """The override's source and when it was last put."""
        ...

    def epoch(self) -> int: ...

    def put(self, merchant: str, currency: str, source: str, version: str, now_ms: int) -> None:
        """Keep (or replace) the override and bump the epoch, in one transaction."""
        ...

    def drop(self, merchant: str, currency: str) -> bool:
        """Drop the override (True if there was one) and bump the epoch, in one transaction."""
        ...


class Overrides:
    def __init__(self, repo: OverrideRepository, monotonic: Callable[[], float] = time.monotonic) -> None:
        """`monotonic`: the seconds the cache's age is measured in (a duration, not the platform's clock)."""
        self._repo = repo
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._cache: dict[tuple[str, str], tuple[str, Policy]] = {}
        """(merchant, currency) -> (base version, policy in force), valid for `_epoch`."""
        self._epoch = -1
        """The `policy_epoch` the cache is for (a put or a drop in any process bumps it)."""
        self._checked = -CACHE_S

    def policy(self, base: Policy, merchant: str) -> Policy:
        """The policy that decides `merchant`'s payments in `base`'s currency: `base` unless the merchant
        set an override."""
        self._check_epoch()
        key = (merchant, base.currency)
        cached = self._cache.get(key)
        if cached is not None and cached[0] == base.version:
            return cached[1]
        may_block()
        found = self._repo.get(merchant, base.currency)
        source = found[0] if found else None
        policy = base
        if source is not None:
            try:
                policy = _compose(base, source)
            except PolicyError as exc:  # valid when kept; the base pack changed under it since
                _log.warning("%s's override no longer composes over %r (%s): the base pack decides", merchant,
                             base.id, exc)  # fmt: skip
        with self._lock:
            if len(self._cache) >= 100_000:
                self._cache.clear()
            self._cache[key] = (base.version, policy)
        return policy

    def _check_epoch(self) -> None:
        """At most once every `CACHE_S`, one read tells whether any override changed anywhere."""
        now = self._monotonic()
        if now - self._checked < CACHE_S:
            return
        may_block()
        epoch = self._repo.epoch()
        with self._lock:
            if epoch != self._epoch:
                self._cache.clear()
                self._epoch = epoch
            self._checked = now

    def get(self, base: Policy, merchant: str) -> Override | None:
        found = self._repo.get(merchant, base.currency)
        if found is None:
            return None
        source, updated_ms = found
        return Override(merchant, base.currency, source, self.policy(base, merchant), updated_ms)

    def put(self, base: Policy, merchant: str, source: str, now_ms: int) -> Override:
        """Check `source` over `base` and keep it; `OverrideError` (nothing kept) if it is refused."""
        if len(source) > SOURCE_MAX:
            raise OverrideError(ErrorCode.policy_invalid, f"an override is at most {SOURCE_MAX:,} characters")
        try:
            policy = _compose(base, source)
        except PolicyError as exc:
            raise OverrideError(ErrorCode.policy_invalid, str(exc)) from None
        self._repo.put(merchant, base.currency, source, policy.version, now_ms)
        self._forget(merchant, base.currency)
        return Override(merchant, base.currency, source, policy, now_ms)

    def delete(self, base: Policy, merchant: str) -> bool:
        """Drop the merchant's override (True if there was one): the base pack decides again."""
        dropped = self._repo.drop(merchant, base.currency)
        self._forget(merchant, base.currency)
        return dropped

    def _forget(self, merchant: str, code: str) -> None:
        with self._lock:
            self._cache.pop((merchant, code), None)


def _compose(base: Policy, source: str) -> Policy:
    return compose(shipped(), base.id, parse(source, "override"))
