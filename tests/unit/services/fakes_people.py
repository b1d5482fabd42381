"""In-memory fakes of the repositories of people: users with their sessions and resets, passkeys, and
a customer's rights (erasure, closure, export) over them."""

from __future__ import annotations

import dataclasses
from typing import Any

from fakes import FakeKeys, FakeParties, FakePersonal, FakeSecurityEvents

from farthing.domain.factors import StoredPasskey
from farthing.domain.principals import PartyRecord, SessionRecord, SignInRecord, User


class FakeUsers:
    def __init__(self) -> None:
        self.rows: dict[str, SignInRecord] = {}
        self.emails: dict[bytes, str] = {}
        self.sessions: dict[bytes, tuple[str, str, int]] = {}
        self.resets: dict[bytes, tuple[str, int, bool]] = {}

    def email_taken(self, email_hmac: bytes) -> bool:
        return email_hmac in self.emails

    def add(self, user: User, email_hmac: bytes, password_hash: str, created_ms: int) -> None:
        self.rows[user.id] = SignInRecord(user, password_hash, 0, 0)
        self.emails[email_hmac] = user.id

    def by_email(self, email_hmac: bytes) -> SignInRecord | None:
        return self.rows.get(self.emails.get(email_hmac, ""))

    def set_failures(self, user_id: str, failures: int, locked_until_ms: int) -> None:
        self.rows[user_id] = dataclasses.replace(self.rows[user_id], failures=failures, locked_until_ms=locked_until_ms)

    def set_password(self, user_id: str, password_hash: str, end_sessions: bool) -> None:
        self.rows[user_id] = SignInRecord(self.rows[user_id].user, password_hash, 0, 0)
        if end_sessions:
            self.sessions = {d: s for d, s in self.sessions.items() if s[0] != user_id}

    def payer_of(self, party_id: str) -> User | None:
        return next(
            (r.user for r in self.rows.values() if r.user.party_id == party_id and r.user.role == "payer"), None
        )

    def add_session(
        self, digest: bytes, user_id: str, csrf: str, created_ms: int, expires_ms: int, method: str,
        agent: bytes | None,
    ) -> None:  # fmt: skip
        self.sessions[digest] = (user_id, csrf, expires_ms, method, agent)

    def session(self, digest: bytes) -> SessionRecord | None:
        if digest not in self.sessions:
            return None
        user_id, csrf, expires_ms, method, agent = self.sessions[digest]
        return SessionRecord(self.rows[user_id].user, csrf, expires_ms, method, agent)

    def end_session(self, digest: bytes) -> None:
        self.sessions.pop(digest, None)

    def add_reset(self, digest: bytes, user_id: str, expires_ms: int) -> None:
        self.resets[digest] = (user_id, expires_ms, False)

    def use_reset(self, digest: bytes, now_ms: int) -> str | None:
        user_id, expires_ms, used = self.resets.get(digest, ("", 0, True))
        if used or expires_ms <= now_ms:
            return None
        self.resets[digest] = (user_id, expires_ms, True)
        return user_id


class FakePasskeys:
    def __init__(self) -> None:
        self.ceremonies: dict[str, tuple[str, str, bytes, int, bool]] = {}
        self.passkeys: dict[bytes, tuple[str, StoredPasskey]] = {}

    def open_ceremony(
        self, ceremony: str, party: str, kind: str, challenge: bytes, now_ms: int, expires_ms: int
    ) -> None:
        self.ceremonies[ceremony] = (party, kind, challenge, expires_ms, False)

    def take_ceremony(self, ceremony: str, party: str | None, kind: str, now_ms: int) -> tuple[bytes, int] | None:
        found = self.ceremonies.get(ceremony)
        if found is None or found[4] or found[1] != kind or party not in (None, found[0]):
            return None
        self.ceremonies[ceremony] = (*found[:4], True)
        return found[2], found[3]

    def offered(self, party: str) -> list[bytes]:
        return [c for c, (p, k) in self.passkeys.items() if p == party and not k.flagged]

    def add(
        self, factor: str, party: str, credential_id: bytes, public_key: bytes, sign_count: int, now_ms: int
    ) -> bool:
        if credential_id in self.passkeys:
            return False
        self.passkeys[credential_id] = (party, StoredPasskey(factor, public_key, sign_count, False))
        return True

    def owner(self, credential_id: bytes) -> str | None:
        return self.passkeys[credential_id][0] if credential_id in self.passkeys else None

    def find(self, party: str, credential_id: bytes) -> StoredPasskey | None:
        owner, stored = self.passkeys.get(credential_id, ("", None))
        return stored if owner == party else None

    def _change(self, factor: str, **changes: object) -> None:
        for credential, (party, stored) in self.passkeys.items():
            if stored.id == factor:
                self.passkeys[credential] = (party, dataclasses.replace(stored, **changes))  # type: ignore[arg-type]

    def flag(self, factor: str, now_ms: int) -> None:
        self._change(factor, flagged=True)

    def count_up(self, factor: str, sign_count: int) -> None:
        for _, stored in self.passkeys.values():
            if stored.id == factor and stored.sign_count <= sign_count:
                self._change(factor, sign_count=sign_count)


class FakePrivacy:
    """A customer's rights over the other fakes' rows, as the SQL unit of work spans their tables."""

    def __init__(self, parties: FakeParties, personal: FakePersonal, keys: FakeKeys, events: FakeSecurityEvents,
                 users: FakeUsers) -> None:  # fmt: skip
        self.parties, self.personal, self.keys, self.events, self.users = parties, personal, keys, events, users
        self.erased_ms: dict[str, int] = {}
        self.closed_ms: dict[str, int] = {}

    def party(self, party_id: str) -> PartyRecord | None:
        row = self.parties.rows.get(party_id)
        if row is None:
            return None
        _, kind, _, mode, created_ms, country, age_band = row
        return PartyRecord(party_id, kind, mode, country, age_band, created_ms, self.erased_ms.get(party_id),
                           self.closed_ms.get(party_id))  # fmt: skip

    def erase(self, customer: str, now_ms: int) -> None:
        self.personal.sealed = {k: v for k, v in self.personal.sealed.items() if k[0] != customer}
        self.personal.keys.pop(customer, None)
        self.personal.erased_subjects.add(customer)
        self.erased_ms.setdefault(customer, now_ms)

    def close(self, customer: str, now_ms: int) -> int:
        self.closed_ms.setdefault(customer, now_ms)
        for key in self.keys.of_party(customer):
            self.keys.revoke(key.id, now_ms)
        ended = {u for u, r in self.users.rows.items() if r.user.party_id == customer}
        self.users.sessions = {d: s for d, s in self.users.sessions.items() if s[0] not in ended}
        return self.closed_ms[customer]

    def closed_before(self, cutoff_ms: int) -> list[str]:
        due = [(ms, c) for c, ms in self.closed_ms.items() if ms <= cutoff_ms and c not in self.erased_ms]
        return [c for _, c in sorted(due)]

    def held(self, customer: str) -> dict[str, list[dict[str, Any]]]:
        keys = [{"id": k.id, "kind": k.kind, "mode": k.mode, "scopes": k.scopes, "created_ms": k.created_ms,
                 "revoked_ms": k.revoked_ms} for k in self.keys.of_party(customer)]  # fmt: skip
        events = [{"at_ms": r[0], "kind": r[1], "key_id": r[3], "detail": r[4], "personal": r[5]}
                  for r in self.events.rows if r[2] == customer]  # fmt: skip
        return {"factors": [], "allowances": [], "channels": [], "api_keys": keys, "security_events": events}
