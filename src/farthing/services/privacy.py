"""Personal data at rest: a customer's name, email, phone and address, each sealed with AES-256-GCM under
the customer's own data key, itself wrapped by a master key (`farthing.adapters.key_vault`). The
plaintext is never written to the database.

Erasure destroys the customer's data key (crypto-shredding) and deletes the sealed fields: what any
copy, backup or free page still holds can no longer be read by anyone. The ledger, the journal and the
tax records name the customer only by its id, so they stay whole and `farthing audit verify` still
passes. Export gathers everything held about a customer into one JSON document.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping
from typing import Any

from farthing.adapters.key_vault import KeyVault, open_sealed, seal
from farthing.adapters.rows import int16
from farthing.domain.money import currency
from farthing.errors import ErrorCode
from farthing.services.platform import Platform, PlatformError, Principal

PERSONAL_FIELDS = ("name", "email", "phone", "address")


class Privacy:
    def __init__(self, platform: Platform, vault: KeyVault) -> None:
        self.platform = platform
        self.db = platform.db
        self.vault = vault

    # -- sealing and reading ---------------------------------------------------------------------

    def seal_profile(self, subject: str, fields: Mapping[str, str | None]) -> None:
        """Seal a subject's personal fields under a data key of its own (made now if it has none)."""
        key = self._data_key(subject, create=True)
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
        key = self._data_key(subject, create=True)
        assert key is not None
        return seal(key, json.dumps(dict(personal), sort_keys=True).encode(), _aad(subject, "security_event"))

    def _opened_event(self, subject: str, key: bytes | None, sealed: object) -> dict[str, Any] | None:
        if sealed is None or key is None:
            return None
        found: dict[str, Any] = json.loads(open_sealed(key, bytes(sealed), _aad(subject, "security_event")))  # type: ignore[arg-type]
        return found

    def profile(self, subject: str) -> dict[str, str | None] | None:
        """The subject's personal fields, or None once erased. A tampered field raises."""
        key = self._data_key(subject, create=False)
        if key is None:
            return None
        rows = self.db.query("SELECT field, sealed FROM personal_data WHERE subject = ?", (subject,))
        found = {str(f): open_sealed(key, bytes(b), _aad(subject, str(f))).decode() for f, b in rows}
        return {f: found.get(f) for f in PERSONAL_FIELDS}

    def _data_key(self, subject: str, create: bool) -> bytes | None:
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
            (subject, key_id, sealed, self.platform.clock_ms()),
        )
        return self._data_key(subject, create=False)

    def system_key(self, name: str) -> bytes:
        """A platform secret of its own (e.g. the key of the email look-up HMAC), wrapped like data keys
        and re-wrapped by a rotation, so it outlives any one master key."""
        key = self._data_key(f"system:{name}", create=True)
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

    # -- the subject's rights --------------------------------------------------------------------

    def _subject(self, principal: Principal, customer: str) -> str:
        """The operator, or the customer itself, may act on the customer's personal data."""
        rows = self.db.query("SELECT kind, mode FROM parties WHERE id = ?", (customer,))
        mine = principal.kind == "operator" or principal.party_id == customer
        if not rows or rows[0][0] != "customer" or rows[0][1] != principal.mode or not mine:
            raise PlatformError(ErrorCode.not_found, f"no customer {customer!r}")
        return customer

    def read(self, principal: Principal, customer: str) -> dict[str, Any]:
        subject = self._subject(principal, customer)
        rows = self.db.query(
            "SELECT country, age_band, created_ms, erased_ms, closed_ms FROM parties WHERE id = ?", (subject,)
        )
        country, age_band, created_ms, erased_ms, closed_ms = rows[0]
        personal = self.profile(subject) or dict.fromkeys(PERSONAL_FIELDS)
        return {"id": subject, "object": "customer", **personal, "country": country, "age_band": age_band,
                "created_ms": created_ms, "erased_ms": erased_ms, "closed_ms": closed_ms}  # fmt: skip

    def erase(self, principal: Principal | None, customer: str) -> dict[str, Any]:
        """Destroy the customer's data key and sealed fields; the money records stay, by id only."""
        if principal is not None:
            self._subject(principal, customer)
        now = self.platform.clock_ms()
        with self.db.transaction() as tx:
            tx.query("DELETE FROM personal_data WHERE subject = ?", (customer,))
            tx.query("DELETE FROM data_keys WHERE subject = ?", (customer,))
            tx.query("UPDATE parties SET erased_ms = ? WHERE id = ? AND erased_ms IS NULL", (now, customer))
        self.platform.security_event("privacy.erased", customer, principal.key_id if principal else "cli")
        return {"id": customer, "object": "erasure", "erased_ms": now}

    def close(self, principal: Principal, customer: str) -> dict[str, Any]:
        """Close the customer's account: its API keys revoked and sessions ended at once; its personal data
        kept for the retention period of the policy, then erased by `sweep`."""
        subject = self._subject(principal, customer)
        now = self.platform.clock_ms()
        with self.db.transaction() as tx:
            tx.query("UPDATE parties SET closed_ms = ? WHERE id = ? AND closed_ms IS NULL", (now, subject))
            tx.query("UPDATE api_keys SET revoked_ms = ? WHERE party_id = ? AND revoked_ms IS NULL", (now, subject))
            tx.query("DELETE FROM sessions WHERE user_id IN (SELECT id FROM users WHERE party_id = ?)", (subject,))
        self.platform._principals.clear()  # revocations take effect at once in this process
        self.platform.security_event("account.closed", subject, principal.key_id)
        closed = self.db.query("SELECT closed_ms FROM parties WHERE id = ?", (subject,))[0][0]
        return {"id": subject, "object": "closure", "closed_ms": closed}

    def sweep(self, retention_days: int) -> list[str]:
        """Erase the personal data of every customer closed more than `retention_days` ago (the policy's
        `personal_data_days_after_close`); the ids erased."""
        cutoff = self.platform.clock_ms() - retention_days * 86_400_000
        due = self.db.query(
            "SELECT id FROM parties WHERE kind = 'customer' AND closed_ms IS NOT NULL AND closed_ms <= ? "
            "AND erased_ms IS NULL ORDER BY closed_ms",
            (cutoff,),
        )
        for (customer,) in due:
            self.erase(None, str(customer))
        return [str(c) for (c,) in due]

    def export(self, principal: Principal, customer: str, history: Any = None) -> dict[str, Any]:
        """Everything held about the customer, as one JSON-able document."""
        subject = self._subject(principal, customer)
        key = self._data_key(subject, create=False)
        wallets = []
        for code, account in self.db.query("SELECT currency, account_id FROM wallets WHERE party_id = ?", (subject,)):
            cur, account_id = currency(str(code)), int16(bytes(account))
            [state] = self.platform.ledger.accounts([account_id]) or [None]
            lines = []
            if history is not None:
                from farthing.services.history import Filters

                page = history.page(account_id, Filters(), None, 10_000)
                lines = [{"id": e.id, "type": e.type, "side": e.side, "amount": cur.format(e.amount),
                          "created_ms": e.timestamp_ms} for e in page.entries]  # fmt: skip
            balances = state.balances() if state is not None else (0, 0, 0, 0)
            wallets.append({"currency": cur.code, "debits_pending": cur.format(balances[0]),
                            "debits_posted": cur.format(balances[1]), "credits_posted": cur.format(balances[3]),
                            "transactions": lines})  # fmt: skip

        def rows(table: str, owner: str, columns: str) -> list[dict[str, Any]]:
            names = [c.strip() for c in columns.split(",")]
            found = self.db.query(f"SELECT {columns} FROM {table} WHERE {owner} = ?", (subject,))
            return [dict(zip(names, r, strict=True)) for r in found]

        return {
            "object": "export",
            "customer": self.read(principal, subject),
            "wallets": wallets,
            "factors": rows("factors", "party_id", "id, kind, created_ms, confirmed_ms, flagged_ms, revoked_ms"),
            "allowances": rows("allowances", "customer", "id, merchant, currency, per_payment, per_day, total, "
                               "created_ms, expires_ms, revoked_ms"),
            "channels": rows("channels", "customer", "id, merchant, currency, form, deposit, status, created_ms"),
            "api_keys": rows("api_keys", "party_id", "id, kind, mode, scopes, created_ms, revoked_ms"),
            "security_events": [
                {**event, "personal": self._opened_event(subject, key, event["personal"])}
                for event in rows("security_events", "party_id", "at_ms, kind, key_id, detail, personal")
            ],
        }  # fmt: skip


def _aad(subject: str, field: str) -> bytes:
    return f"farthing-personal:{subject}:{field}".encode()


def without_personal(body: dict[str, Any]) -> dict[str, Any]:
    """An answer as kept for replays: a customer's personal fields are not kept in plaintext anywhere."""
    if body.get("object") == "customer":
        return {**body, **{f: None for f in PERSONAL_FIELDS if f in body}}
    return body


__all__ = ["PERSONAL_FIELDS", "Privacy", "without_personal"]
