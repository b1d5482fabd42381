"""A customer's personal data sealed at rest: its name, email, phone and address, each sealed with
AES-256-GCM under the customer's own data key, itself wrapped by a master key
(`farthing.adapters.key_vault`). The plaintext is never written to the database; the sealed rows live
behind `PersonalRepository` (SQL: `farthing.adapters.personal_sql`). Erasing the data key
(crypto-shredding, `farthing.services.privacy`) makes every sealed copy unreadable.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping
from typing import Any, Protocol

from farthing.adapters.key_vault import KeyVault, open_sealed, seal
from farthing.clock import Clock

PERSONAL_FIELDS = ("name", "email", "phone", "address")


class PersonalRepository(Protocol):
    def put_fields(self, subject: str, sealed: list[tuple[str, bytes]]) -> None:
        """Keep each (field, sealed value), replacing the subject's earlier value of the field."""
        ...

    def fields(self, subject: str) -> list[tuple[str, bytes]]: ...

    def data_key(self, subject: str) -> tuple[str, bytes] | None:
        """The subject's wrapped data key: (master key id, sealed key)."""
        ...

    def add_data_key(self, subject: str, master_key_id: str, sealed: bytes, created_ms: int) -> None:
        """Keep a wrapped data key (nothing if the subject has one: the first one stands)."""
        ...

    def data_keys(self) -> list[tuple[str, str, bytes]]:
        """Every wrapped data key: (subject, master key id, sealed key)."""
        ...

    def rewrap(self, subject: str, old_master_key_id: str, master_key_id: str, sealed: bytes) -> None: ...

    def erased(self, subject: str) -> bool:
        """Whether the subject's personal data was erased."""
        ...


class PersonalData:
    def __init__(self, repo: PersonalRepository, vault: KeyVault, clock: Clock) -> None:
        self.repo = repo
        self.vault = vault
        self.clock = clock

    def seal_profile(self, subject: str, fields: Mapping[str, str | None]) -> None:
        """Seal a subject's personal fields under a data key of its own (made now if it has none)."""
        key = self.data_key(subject, create=True)
        assert key is not None
        self.repo.put_fields(subject, [(f, seal(key, v.encode(), _aad(subject, f))) for f, v in fields.items()
                                       if v is not None])  # fmt: skip

    def seal_event(self, subject: str, personal: Mapping[str, str]) -> bytes | None:
        """A security event's personal data sealed under the subject's data key (None: the subject was
        erased, and nothing personal is kept of it any more)."""
        if self.repo.erased(subject):
            return None
        key = self.data_key(subject, create=True)
        assert key is not None
        return seal(key, json.dumps(dict(personal), sort_keys=True).encode(), _aad(subject, "security_event"))

    def opened_event(self, subject: str, key: bytes | None, sealed: object) -> dict[str, Any] | None:
        if sealed is None or key is None:
            return None
        found: dict[str, Any] = json.loads(open_sealed(key, bytes(sealed), _aad(subject, "security_event")))  # type: ignore[arg-type]
        return found

    def profile(self, subject: str) -> dict[str, str | None] | None:
        """The subject's personal fields, or None once erased. A tampered field raises."""
        key = self.data_key(subject, create=False)
        if key is None:
            return None
        found = {f: open_sealed(key, b, _aad(subject, f)).decode() for f, b in self.repo.fields(subject)}
        return {f: found.get(f) for f in PERSONAL_FIELDS}

    def opened(self, subject: str) -> dict[str, str] | None:
        """Every field sealed for the subject, opened (None: never sealed, or erased)."""
        key = self.data_key(subject, create=False)
        if key is None:
            return None
        return {f: open_sealed(key, b, _aad(subject, f)).decode() for f, b in self.repo.fields(subject)}

    def data_key(self, subject: str, create: bool) -> bytes | None:
        found = self.repo.data_key(subject)
        if found is not None:
            return self.vault.unwrap(found[0], found[1], subject)
        if not create:
            return None
        key_id, sealed = self.vault.wrap(secrets.token_bytes(32), subject)
        self.repo.add_data_key(subject, key_id, sealed, self.clock())
        return self.data_key(subject, create=False)  # another process's, if it made one first

    def system_key(self, name: str) -> bytes:
        """A platform secret of its own (e.g. the key of the email look-up HMAC), wrapped like data keys
        and re-wrapped by a rotation, so it outlives any one master key."""
        key = self.data_key(f"system:{name}", create=True)
        assert key is not None
        return key

    def rotate(self) -> int:
        """Re-wrap every data key under the current master key (the data stays as it is)."""
        moved = 0
        for subject, key_id, sealed in self.repo.data_keys():
            if key_id == self.vault.current:
                continue
            new_id, resealed = self.vault.wrap(self.vault.unwrap(key_id, sealed, subject), subject)
            self.repo.rewrap(subject, key_id, new_id, resealed)
            moved += 1
        return moved


def _aad(subject: str, field: str) -> bytes:
    return f"farthing-personal:{subject}:{field}".encode()
