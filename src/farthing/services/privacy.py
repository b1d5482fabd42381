"""Personal data at rest: a customer's name, email, phone and address, each sealed with AES-256-GCM under
the customer's own data key, itself wrapped by a master key (`farthing.adapters.key_vault`). The
plaintext is never written to the database.

Erasure destroys the customer's data key (crypto-shredding) and deletes the sealed fields: what any
copy, backup or free page still holds can no longer be read by anyone. The ledger, the journal and the
tax records name the customer only by its id, so they stay whole and `farthing audit verify` still
passes. Export gathers everything held about a customer into one JSON document.
"""

from __future__ import annotations

from typing import Any

from farthing.adapters.platform_db import PlatformDb
from farthing.adapters.rows import int16
from farthing.clock import Clock
from farthing.domain.money import currency
from farthing.domain.principals import Principal
from farthing.engine.committer import GroupCommitter
from farthing.errors import ErrorCode, PlatformError
from farthing.services.history import History
from farthing.services.history_lines import Filters
from farthing.services.keys import Keys
from farthing.services.personal_data import PERSONAL_FIELDS, PersonalData
from farthing.services.security_log import SecurityLog


class Privacy:
    def __init__(
        self, db: PlatformDb, personal: PersonalData, log: SecurityLog, keys: Keys, ledger: GroupCommitter, clock: Clock
    ) -> None:
        self.db = db
        self.personal = personal
        self.log = log
        self.keys = keys
        self.ledger = ledger
        self.clock = clock

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
        personal = self.personal.profile(subject) or dict.fromkeys(PERSONAL_FIELDS)
        return {"id": subject, "object": "customer", **personal, "country": country, "age_band": age_band,
                "created_ms": created_ms, "erased_ms": erased_ms, "closed_ms": closed_ms}  # fmt: skip

    def erase(self, principal: Principal | None, customer: str) -> dict[str, Any]:
        """Destroy the customer's data key and sealed fields; the money records stay, by id only."""
        if principal is not None:
            self._subject(principal, customer)
        now = self.clock()
        with self.db.transaction() as tx:
            tx.query("DELETE FROM personal_data WHERE subject = ?", (customer,))
            tx.query("DELETE FROM data_keys WHERE subject = ?", (customer,))
            tx.query("UPDATE parties SET erased_ms = ? WHERE id = ? AND erased_ms IS NULL", (now, customer))
        self.log.record("privacy.erased", customer, principal.key_id if principal else "cli")
        return {"id": customer, "object": "erasure", "erased_ms": now}

    def close(self, principal: Principal, customer: str) -> dict[str, Any]:
        """Close the customer's account: its API keys revoked and sessions ended at once; its personal data
        kept for the retention period of the policy, then erased by `sweep`."""
        subject = self._subject(principal, customer)
        now = self.clock()
        with self.db.transaction() as tx:
            tx.query("UPDATE parties SET closed_ms = ? WHERE id = ? AND closed_ms IS NULL", (now, subject))
            tx.query("UPDATE api_keys SET revoked_ms = ? WHERE party_id = ? AND revoked_ms IS NULL", (now, subject))
            tx.query("DELETE FROM sessions WHERE user_id IN (SELECT id FROM users WHERE party_id = ?)", (subject,))
        self.keys.forget_all()  # revocations take effect at once in this process
        self.log.record("account.closed", subject, principal.key_id)
        closed = self.db.query("SELECT closed_ms FROM parties WHERE id = ?", (subject,))[0][0]
        return {"id": subject, "object": "closure", "closed_ms": closed}

    def sweep(self, retention_days: int) -> list[str]:
        """Erase the personal data of every customer closed more than `retention_days` ago (the policy's
        `personal_data_days_after_close`); the ids erased."""
        cutoff = self.clock() - retention_days * 86_400_000
        due = self.db.query(
            "SELECT id FROM parties WHERE kind = 'customer' AND closed_ms IS NOT NULL AND closed_ms <= ? "
            "AND erased_ms IS NULL ORDER BY closed_ms",
            (cutoff,),
        )
        for (customer,) in due:
            self.erase(None, str(customer))
        return [str(c) for (c,) in due]

    def export(self, principal: Principal, customer: str, history: History | None = None) -> dict[str, Any]:
        """Everything held about the customer, as one JSON-able document."""
        subject = self._subject(principal, customer)
        key = self.personal.data_key(subject, create=False)
        wallets = []
        for code, account in self.db.query("SELECT currency, account_id FROM wallets WHERE party_id = ?", (subject,)):
            cur, account_id = currency(str(code)), int16(bytes(account))
            [state] = self.ledger.accounts([account_id]) or [None]
            lines = []
            if history is not None:
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
                {**event, "personal": self.personal.opened_event(subject, key, event["personal"])}
                for event in rows("security_events", "party_id", "at_ms, kind, key_id, detail, personal")
            ],
        }  # fmt: skip


def without_personal(body: dict[str, Any]) -> dict[str, Any]:
    """An answer as kept for replays: a customer's personal fields are not kept in plaintext anywhere."""
    if body.get("object") == "customer":
        return {**body, **{f: None for f in PERSONAL_FIELDS if f in body}}
    return body


__all__ = ["Privacy", "without_personal"]
