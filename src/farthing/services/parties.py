"""Parties: the merchants and customers an operator makes, each with a first API key.

A customer's name and personal fields are sealed (`farthing.services.personal_data`), never written in
plaintext; a merchant's name is its business name, kept as it is. The table lives behind
`PartyRepository` (SQL: `farthing.adapters.parties_sql`).
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import Protocol

from farthing.clock import Clock
from farthing.domain.principals import PartyFilters, PartyRow, Principal, Profile, require
from farthing.errors import ErrorCode, PlatformError
from farthing.services.blocking import may_block
from farthing.services.keys import Keys
from farthing.services.personal_data import PersonalData


class PartyRepository(Protocol):
    def add(
        self, party_id: str, kind: str, name: str, mode: str, created_ms: int, country: str | None, age_band: str
    ) -> None: ...

    def kind_and_mode(self, party_id: str) -> tuple[str, str] | None: ...

    def name(self, party_id: str) -> str | None:
        """The party's name as kept in the clear ("" when sealed: a customer's is personal data)."""
        ...

    def profile(self, party_id: str) -> Profile | None: ...

    def page(
        self, kind: str, mode: str, filters: PartyFilters, before: tuple[int, str] | None, limit: int
    ) -> list[PartyRow]:
        """Parties of a kind and mode, newest first, older than `before` (created_ms, id) when given."""
        ...

    def created_ms(self, party_id: str) -> int | None: ...

    def found(self, mode: str, text: str, limit: int) -> list[PartyRow]:
        """The party whose id is `text`, and merchants whose name holds it in any case, newest first."""
        ...


class Parties:
    def __init__(self, repo: PartyRepository, clock: Clock, keys: Keys, personal: PersonalData | None) -> None:
        """`personal`: where customers' personal data is sealed (None: a platform without a key vault,
        whose customers' names are kept as they are)."""
        self.repo = repo
        self.clock = clock
        self.keys = keys
        self.personal = personal
        self._known: set[tuple[str, str, str]] = set()
        self._profiles: dict[str, Profile] = {}
        self._modes: dict[str, str] = {}

    def create(
        self, principal: Principal, kind: str, name: str, country: str | None = None, age_band: str = "adult",
        personal: Mapping[str, str | None] | None = None,
    ) -> tuple[str, str, str]:  # fmt: skip
        """A new merchant or customer in the operator's mode: (party id, key id, secret)."""
        require(principal, "operator", "parties:write")
        party_id = ("mer_" if kind == "merchant" else "cus_") + secrets.token_hex(12)
        sealed = kind == "customer" and self.personal is not None
        if self.personal is not None and sealed:
            self.personal.seal_profile(party_id, {"name": name, **(personal or {})})
        self.repo.add(party_id, kind, "" if sealed else name, principal.mode, self.clock(), country, age_band)
        key_id, secret = self.keys.issue(kind, party_id, principal.mode)
        return party_id, key_id, secret

    def check(self, party_id: str, kind: str, mode: str) -> str:
        """`party_id`, if it is a `kind` in `mode` (another mode's party does not exist here)."""
        if (party_id, kind, mode) in self._known:
            return party_id
        may_block()
        if self.repo.kind_and_mode(party_id) != (kind, mode):
            raise PlatformError(ErrorCode.not_found, f"no {kind} {party_id!r}")
        self._known.add((party_id, kind, mode))  # a party never changes its kind or mode
        return party_id

    def display_name(self, party_id: str) -> str:
        """What a payer is shown of a merchant: its name, or its id when it has none in the clear."""
        return self.repo.name(party_id) or party_id

    def mode_of(self, party_id: str) -> str:
        """Whether the party lives in test or live mode (not found if there is no such party)."""
        found = self._modes.get(party_id)
        if found is None:
            may_block()
            kind_mode = self.repo.kind_and_mode(party_id)
            if kind_mode is None:
                raise PlatformError(ErrorCode.not_found, f"no party {party_id!r}")
            found = self._modes[party_id] = kind_mode[1]  # a party never changes its mode
        return found

    def profile(self, party_id: str) -> Profile:
        """The party's country and age band, as the policy sees them (kept in memory: they do not change)."""
        found = self._profiles.get(party_id)
        if found is None:
            may_block()
            found = self.repo.profile(party_id) or Profile()
            self._profiles[party_id] = found
        return found

    def listed(
        self, principal: Principal, kind: str, filters: PartyFilters, starting_after: str | None, limit: int
    ) -> tuple[list[PartyRow], bool]:
        """The operator's merchants or customers, newest first, `limit` at most after the party
        `starting_after` (a page's last); and whether more follow."""
        require(principal, "operator", "read")
        before = None
        if starting_after is not None:
            created = self.repo.created_ms(starting_after)
            if created is None:
                raise PlatformError(ErrorCode.not_found, f"no {kind} {starting_after!r}")
            before = (created, starting_after)
        rows = self.repo.page(kind, principal.mode, filters, before, limit + 1)
        return rows[:limit], len(rows) > limit

    def find(self, principal: Principal, text: str, limit: int, also: str | None = None) -> list[PartyRow]:
        """The operator's search: the party of this id, merchants by a part of their name, and the party
        `also` (found some other way: by a user's email) first. A customer's name is sealed: never searched."""
        require(principal, "operator", "read")
        rows = self.repo.found(principal.mode, text.strip()[:255], limit) if text.strip() else []
        if also is not None and all(r.id != also for r in rows):
            rows = self.repo.found(principal.mode, also, 1) + rows
        return rows[:limit]
