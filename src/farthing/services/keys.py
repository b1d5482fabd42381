"""API keys: issue, list, roll, revoke, and authenticate a request's secret to its `Principal`.

A key's secret is shown once; only its SHA-256 is kept (and, to tell keys apart, its first characters).
The table lives behind `KeyRepository` (SQL: `farthing.adapters.keys_sql`; in unit tests a fake).
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Sequence
from typing import Protocol

from farthing import limits
from farthing.clock import Clock
from farthing.domain.principals import SCOPES, KeyInfo, Principal, StoredKey
from farthing.errors import ErrorCode, PlatformError
from farthing.services.security_log import SecurityLog

LAST_USED_EVERY_MS = 60_000
"""A key's last use is written at most this often (a write per request would cost the hot path)."""
KEY_CACHE_MS = 1_000
"""How long a known API key is remembered before the repository is asked again."""


_log = logging.getLogger("farthing.keys")


class KeyRepository(Protocol):
    def add(self, key: StoredKey, digest: bytes) -> None: ...

    def get(self, key_id: str) -> StoredKey | None: ...

    def of_party(self, party_id: str | None) -> list[StoredKey]:
        """A party's keys (None: the operator keys), oldest first."""
        ...

    def by_digest(self, digest: bytes, now_ms: int) -> StoredKey | None:
        """The key with this secret's digest, neither revoked nor expired at `now_ms`."""
        ...

    def expire(self, key_id: str, ends_ms: int) -> None:
        """Set the key to stop at `ends_ms` (never later than it was to stop already)."""
        ...

    def revoke(self, key_id: str, now_ms: int) -> None: ...

    def touch(self, key_id: str, now_ms: int) -> None: ...

    def has_operator_key(self) -> bool: ...


def info(k: StoredKey) -> KeyInfo:
    return KeyInfo(k.id, k.kind, k.mode, k.scopes, k.created_ms, k.revoked_ms, k.prefix, k.last_used_ms, k.expires_ms)


class Keys:
    def __init__(self, repo: KeyRepository, clock: Clock, log: SecurityLog) -> None:
        self.repo = repo
        self.clock = clock
        self.log = log
        self._principals: dict[bytes, tuple[Principal, int]] = {}

    def issue(self, kind: str, party_id: str | None, mode: str, scopes: str | None = None) -> tuple[str, str]:
        """A new API key (with all its kind's scopes unless `scopes` says fewer): (id, secret)."""
        secret = f"sk_{mode}_{secrets.token_urlsafe(32)}"
        key_id = "key_" + secrets.token_hex(8)
        stored = StoredKey(key_id, kind, party_id, mode, scopes or SCOPES[kind], self.clock(),
                           secret[: len(f"sk_{mode}_") + 4])  # fmt: skip
        self.repo.add(stored, hashlib.sha256(secret.encode()).digest())
        return key_id, secret

    def key(self, key_id: str) -> KeyInfo:
        found = self.repo.get(key_id)
        if found is None:
            raise PlatformError(ErrorCode.not_found, f"no API key {key_id!r}")
        return info(found)

    def keys(self, principal: Principal, every_mode: bool = False) -> list[KeyInfo]:
        """The caller's keys of its mode (an operator's: the operator keys), oldest first; `every_mode`: test
        and live ones (the host's list)."""
        return [info(k) for k in self.repo.of_party(principal.party_id) if every_mode or k.mode == principal.mode]

    def _mine(self, principal: Principal, key_id: str) -> StoredKey:
        found = self.repo.get(key_id)
        if found is None or found.mode != principal.mode:  # another mode's key does not exist here
            raise PlatformError(ErrorCode.not_found, f"no API key {key_id!r}")
        if principal.kind != "operator" and found.party_id != principal.party_id:
            raise PlatformError(ErrorCode.not_found, f"no API key {key_id!r}")
        return found

    def roll(self, principal: Principal, key_id: str, overlap_s: int) -> tuple[str, str]:
        """A new key in place of `key_id`, which keeps working for `overlap_s` more (0: stops now), so a
        deployment can switch without downtime. Returns the new key's (id, secret)."""
        if not 0 <= overlap_s <= limits.key_overlap_s_max:
            raise PlatformError(ErrorCode.validation_failed, f"overlap_s is 0 to {limits.key_overlap_s_max}")
        old = self._mine(principal, key_id)
        if old.revoked_ms is not None or old.mode != principal.mode:
            raise PlatformError(ErrorCode.not_found, f"no API key {key_id!r}")
        new = self.issue(old.kind, old.party_id, principal.mode, old.scopes)  # the same scopes
        self.repo.expire(key_id, self.clock() + overlap_s * 1000)
        self._forget(key_id)
        self.log.record("key.rolled", old.party_id, principal.key_id, key=key_id, new_key=new[0], overlap_s=overlap_s)
        return new

    def new(self, principal: Principal, scopes: Sequence[str] | None = None) -> tuple[str, str]:
        """Another key for the caller's own party (or another operator key), e.g. to rotate, or one that
        may do less (`scopes`, a subset of the caller's own): (id, secret)."""
        wanted = None
        if scopes is not None:
            extra = set(scopes) - principal.scopes
            if not scopes or extra:
                own, asked = " ".join(sorted(principal.scopes)), " ".join(sorted(extra)) or "none"
                raise PlatformError(ErrorCode.validation_failed, f"scopes are some of this key's ({own}), not {asked}")
            wanted = " ".join(sorted(set(scopes)))
        made = self.issue(principal.kind, principal.party_id, principal.mode, wanted)
        self.log.record("key.created", principal.party_id, principal.key_id, key=made[0], scopes=wanted)
        return made

    def revoke(self, principal: Principal, key_id: str) -> None:
        """Revoke a key of the caller's party (an operator may revoke any key of its mode). Takes effect at
        once."""
        old = self._mine(principal, key_id)
        self.repo.revoke(key_id, self.clock())
        self.log.record("key.revoked", old.party_id, principal.key_id, key=key_id)
        self._forget(key_id)

    def has_operator_key(self) -> bool:
        return self.repo.has_operator_key()

    def authenticate(self, secret: str) -> Principal | None:
        """The key's principal. Known keys are remembered for `KEY_CACHE_MS` (a database query per request
        was a tenth of the event loop's time); a revocation here takes effect at once, one made by
        another process sharing the database within that time."""
        digest = hashlib.sha256(secret.encode()).digest()
        now = self.clock()
        cached = self._principals.get(digest)
        if cached is not None and now - cached[1] < KEY_CACHE_MS:
            return cached[0]
        found = self.repo.by_digest(digest, now)
        if found is None:
            self._principals.pop(digest, None)
            return None
        if found.last_used_ms is None or now - found.last_used_ms >= LAST_USED_EVERY_MS:
            try:
                self.repo.touch(found.id, now)
            except Exception:  # best effort: a read must not fail because this write cannot (a full disk)
                _log.warning("could not record the use of key %s", found.id, exc_info=True)
        principal = Principal(found.id, found.kind, found.party_id, found.mode, frozenset(found.scopes.split()))
        if len(self._principals) >= 10_000:
            self._principals.clear()
        self._principals[digest] = (principal, now)
        return principal

    def forget_all(self) -> None:
        """Ask the repository again for every key (after keys were revoked in bulk, e.g. a closure)."""
        self._principals.clear()

    def _forget(self, key_id: str) -> None:
        for digest, (known, _) in list(self._principals.items()):  # effective at once in this process
            if known.key_id == key_id:
                self._principals.pop(digest, None)
