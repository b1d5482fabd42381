"""A customer's personal data sealed at rest: its name, email, phone and address, each sealed with
AES-256-GCM under the customer's own data key, itself wrapped by a master key
(`farthing.adapters.key_vault`). The plaintext is never written to the database. Erasing the data key
(crypto-shredding, `farthing.services.privacy`) makes every sealed copy unreadable.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping
from typing import Any

from farthing.adapters.key_vault import KeyVault, open_sealed, seal
from farthing.adapters.platform_db import PlatformDb
from farthing.clock import Clock

PERSONAL_FIELDS = ("name", "email", "phone", "address")


class PersonalData:
    def __init__(self, db: PlatformDb, vault: KeyVault, clock: Clock) -> None:
        self.db = db
        self.vault = vault
        self.clock = clock

    def seal_profile(self, subject: str, fields: Mapping[str, str | None]) -> None:
        """Seal a subject's personal fields under a data key of its own (made now if it has none)."""
        key = self.data_key(subject, create=True)
        assert key is not None
        rows = [(subject, f, seal(key, v.encode(), _aad(subject, f))) for f, v in fields.items() if v is not None]
        with self.db.transaction() as tx:
            tx.executemany(
                "INSERT INTO personal_data (subject, field, sealed) VALUES (?, ?, ?) "
                "ON CONFLICT (subject, field) DO UPDATE SET sealed = excluded.sealed",
                rows,
            )

    def seal_event(self, subject: str, personal: Mapping[str, str]) -> bytes | None:
        """A security event's personal data sealed under the subject's data key (None: the subject was
        erased, and nothing personal is kept of it any more)."""
        erased = self.db.query("SELECT erased_ms FROM parties WHERE id = ?", (subject,))
        if erased and erased[0][0] is not None:
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
        rows = self.db.query("SELECT field, sealed FROM personal_data WHERE subject = ?", (subject,))
        found = {str(f): open_sealed(key, bytes(b), _aad(subject, str(f))).decode() for f, b in rows}
        return {f: found.get(f) for f in PERSONAL_FIELDS}

    def data_key(self, subject: str, create: bool) -> bytes | None:
        rows = self.db.query("SELECT master_key_id, sealed FROM data_keys WHERE subject = ?", (subject,))
        if rows:
            return self.vault.unwrap(str(rows[0][0]), bytes(rows[0][1]), subject)
        if not create:
            return None
        key = secrets.token_bytes(32)
        key_id, sealed = self.vault.wrap(key, subject)
        self.db.query(
            "INSERT INTO data_keys (subject, master_key_id, sealed, created_ms) VALUES (?, ?, ?, ?) "
            "ON CONFLICT DO NOTHING",
            (subject, key_id, sealed, self.clock()),
        )
        return self.data_key(subject, create=False)

    def system_key(self, name: str) -> bytes:
        """A platform secret of its own (e.g. the key of the email look-up HMAC), wrapped like data keys
        and re-wrapped by a rotation, so it outlives any one master key."""
        key = self.data_key(f"system:{name}", create=True)
        assert key is not None
        return key

    def rotate(self) -> int:
        """Re-wrap every data key under the current master key (the data stays as it is)."""
        moved = 0
        for subject, key_id, sealed in self.db.query("SELECT subject, master_key_id, sealed FROM data_keys"):
            if key_id == self.vault.current:
                continue
            key = self.vault.unwrap(str(key_id), bytes(sealed), str(subject))
            new_id, resealed = self.vault.wrap(key, str(subject))
            self.db.query(
                "UPDATE data_keys SET master_key_id = ?, sealed = ? WHERE subject = ? AND master_key_id = ?",
                (new_id, resealed, subject, key_id),
            )
            moved += 1
        return moved


def _aad(subject: str, field: str) -> bytes:
    return f"farthing-personal:{subject}:{field}".encode()
