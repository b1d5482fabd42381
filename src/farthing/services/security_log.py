"""The security log: an append-only record of keys made, rolled and revoked, sign-ins, step-ups,
erasures, paused top-ups …

A row's personal data (a sign-in's IP address and user agent) is sealed under the customer's data key
(`farthing.services.personal_data`), so that erasing the customer leaves the row in the log, unreadable;
an event of no customer (a sign-in with an unknown email, a merchant's staff) keeps it in the detail.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Protocol

from farthing.clock import Clock
from farthing.domain.principals import Principal, require

Seal = Callable[[str, Mapping[str, str]], "bytes | None"]
"""Seals a customer's personal data under its data key (None: the customer was erased)."""


class SecurityEventRepository(Protocol):
    def append(
        self, at_ms: int, kind: str, party_id: str | None, key_id: str | None, detail: str, personal: bytes | None
    ) -> None: ...

    def logged_since(self, party_id: str, kind: str, since_ms: int) -> bool:
        """Whether the party has an event of `kind` at or after `since_ms`."""
        ...

    def recent(self, limit: int) -> list[tuple[int, str, str | None, str | None, str]]:
        """The newest events: (at_ms, kind, party, key, detail as JSON), newest first (sealed parts left out)."""
        ...


class SecurityLog:
    def __init__(self, repo: SecurityEventRepository, clock: Clock, seal: Seal) -> None:
        self.repo = repo
        self.clock = clock
        self.seal = seal

    def record(
        self, kind: str, party_id: str | None, key_id: str | None, personal: Mapping[str, str | None] | None = None,
        **detail: object,
    ) -> None:  # fmt: skip
        """Append an event; `personal` is sealed when it is a customer's, kept in the detail otherwise."""
        known = {k: v for k, v in (personal or {}).items() if v is not None}
        sealed = None
        if known and party_id is not None and party_id.startswith("cus_"):
            sealed = self.seal(party_id, known)
        elif known:
            detail = {**detail, **known}
        self.repo.append(self.clock(), kind, party_id, key_id, json.dumps(detail, sort_keys=True), sealed)

    def logged_since(self, party_id: str, kind: str, since_ms: int) -> bool:
        return self.repo.logged_since(party_id, kind, since_ms)

    def recent(self, principal: Principal, limit: int = 30) -> list[tuple[int, str, str | None, str | None, str]]:
        """The platform's newest security events, for an operator (what was sealed stays sealed)."""
        require(principal, "operator", "read")
        return self.repo.recent(limit)
