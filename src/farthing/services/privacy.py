"""Personal data at rest: a customer's name, email, phone and address, each sealed with AES-256-GCM under
the customer's own data key, itself wrapped by a master key (`farthing.adapters.key_vault`). The
plaintext is never written to the database.

Erasure destroys the customer's data key (crypto-shredding) and deletes the sealed fields: what any
copy, backup or free page still holds can no longer be read by anyone. The ledger, the journal and the
tax records name the customer only by its id, so they stay whole and `farthing audit verify` still
passes. Export gathers everything held about a customer into one JSON document.
"""

from __future__ import annotations

from typing import Any, Protocol

from farthing.clock import Clock
from farthing.domain.money import currency
from farthing.domain.principals import PartyRecord, Principal
from farthing.errors import ErrorCode, PlatformError
from farthing.services.accounts import Accounts
from farthing.services.history import History
from farthing.services.history_lines import Filters
from farthing.services.keys import Keys
from farthing.services.personal_data import PERSONAL_FIELDS, PersonalData
from farthing.services.security_log import SecurityLog


class PrivacyRepository(Protocol):
    """The rows a customer's rights touch; SQL in `farthing.adapters.privacy_sql`."""

    def party(self, party_id: str) -> PartyRecord | None: ...

    def erase(self, customer: str, now_ms: int) -> None:
        """Delete the sealed fields and the data key, mark the party erased: one transaction."""
        ...

    def close(self, customer: str, now_ms: int) -> int:
        """Mark the party closed, revoke its keys, end its sessions (one transaction); when it was closed."""
        ...

    def closed_before(self, cutoff_ms: int) -> list[str]:
        """Customers closed at or before `cutoff_ms` and not yet erased, the oldest first."""
        ...

    def held(self, customer: str) -> dict[str, list[dict[str, Any]]]:
        """Rows about the customer by kind: factors, allowances, channels, api_keys, security_events."""
        ...


class Privacy:
    def __init__(
        self, repo: PrivacyRepository, personal: PersonalData, log: SecurityLog, keys: Keys, accounts: Accounts,
        clock: Clock,
    ) -> None:  # fmt: skip
        self.repo = repo
        self.personal = personal
        self.log = log
        self.keys = keys
        self.accounts = accounts
        self.clock = clock

    # -- the subject's rights --------------------------------------------------------------------

    def _customer(self, customer: str, principal: Principal | None) -> PartyRecord:
        """The customer, if `principal` (the operator or the customer itself; None: the operator's CLI) may
        act on its personal data."""
        found = self.repo.party(customer)
        mine = principal is None or principal.kind == "operator" or principal.party_id == customer
        if found is None or found.kind != "customer" or not mine or (principal and found.mode != principal.mode):
            raise PlatformError(ErrorCode.not_found, f"no customer {customer!r}")
        return found

    def read(self, principal: Principal, customer: str) -> dict[str, Any]:
        party = self._customer(customer, principal)
        personal = self.personal.profile(party.id) or dict.fromkeys(PERSONAL_FIELDS)
        return {"id": party.id, "object": "customer", **personal, "country": party.country,
                "age_band": party.age_band, "created_ms": party.created_ms, "erased_ms": party.erased_ms,
                "closed_ms": party.closed_ms}  # fmt: skip

    def erase(self, principal: Principal | None, customer: str) -> dict[str, Any]:
        """Destroy the customer's data key and sealed fields; the money records stay, by id only."""
        self._customer(customer, principal)
        now = self.clock()
        self.repo.erase(customer, now)
        self.log.record("privacy.erased", customer, principal.key_id if principal else "cli")
        return {"id": customer, "object": "erasure", "erased_ms": now}

    def close(self, principal: Principal, customer: str) -> dict[str, Any]:
        """Close the customer's account: its API keys revoked and sessions ended at once; its personal data
        kept for the retention period of the policy, then erased by `sweep`."""
        subject = self._customer(customer, principal).id
        closed = self.repo.close(subject, self.clock())
        self.keys.forget_all()  # revocations take effect at once in this process
        self.log.record("account.closed", subject, principal.key_id)
        return {"id": subject, "object": "closure", "closed_ms": closed}

    def sweep(self, retention_days: int) -> list[str]:
        """Erase the personal data of every customer closed more than `retention_days` ago (the policy's
        `personal_data_days_after_close`); the ids erased."""
        due = self.repo.closed_before(self.clock() - retention_days * 86_400_000)
        for customer in due:
            self.erase(None, customer)
        return due

    def export(self, principal: Principal, customer: str, history: History | None = None) -> dict[str, Any]:
        """Everything held about the customer, as one JSON-able document."""
        subject = self._customer(customer, principal).id
        key = self.personal.data_key(subject, create=False)
        wallets = []
        for code, account_id in self.accounts.repo.of_party(subject):
            cur = currency(code)
            [state] = self.accounts.ledger.accounts([account_id]) or [None]
            lines = []
            if history is not None:
                page = history.page(account_id, Filters(), None, 10_000)
                lines = [{"id": e.id, "type": e.type, "side": e.side, "amount": cur.format(e.amount),
                          "created_ms": e.timestamp_ms} for e in page.entries]  # fmt: skip
            balances = state.balances() if state is not None else (0, 0, 0, 0)
            wallets.append({"currency": cur.code, "debits_pending": cur.format(balances[0]),
                            "debits_posted": cur.format(balances[1]), "credits_posted": cur.format(balances[3]),
                            "transactions": lines})  # fmt: skip
        held = self.repo.held(subject)
        events = [{**event, "personal": self.personal.opened_event(subject, key, event["personal"])}
                  for event in held.pop("security_events")]  # fmt: skip
        return {"object": "export", "customer": self.read(principal, subject), "wallets": wallets, **held,
                "security_events": events}  # fmt: skip


def without_personal(body: dict[str, Any]) -> dict[str, Any]:
    """An answer as kept for replays: a customer's personal fields are not kept in plaintext anywhere."""
    if body.get("object") == "customer":
        return {**body, **{f: None for f in PERSONAL_FIELDS if f in body}}
    return body


__all__ = ["Privacy", "without_personal"]
