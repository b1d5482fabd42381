"""A customer's rights on fake repositories: read by the customer or the operator only, erasure that
makes the sealed data unreadable while the money stays, closure that revokes keys and ends sessions at
once, the retention sweep, and an export of everything held."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from fakes import FakeKeys, FakeLedger, FakeParties, FakePersonal, FakeSecurityEvents, FakeWallets
from fakes_people import FakePrivacy, FakeUsers

from farthing.adapters.key_vault import KeyVault
from farthing.clock import ManualClock
from farthing.domain.money import currency
from farthing.domain.principals import SCOPES, Principal
from farthing.errors import ErrorCode, PlatformError
from farthing.services.accounts import Accounts
from farthing.services.keys import Keys
from farthing.services.parties import Parties
from farthing.services.personal_data import PersonalData
from farthing.services.privacy import Privacy
from farthing.services.security_log import SecurityLog
from farthing.services.users import DirMailer, Users

OPERATOR = Principal("key_op", "operator", None, "test", frozenset({"parties:write", "read"}))
DAY = 86_400_000


class Rights:
    def __init__(self, tmp_path: Path) -> None:
        self.clock = ManualClock(1_800_000_000_000)
        self.personal_rows, self.events, self.key_rows = FakePersonal(), FakeSecurityEvents(), FakeKeys()
        self.party_rows, self.user_rows = FakeParties(), FakeUsers()
        vault = KeyVault.parse("k1:" + base64.b64encode(b"1" * 32).decode())
        self.personal = PersonalData(self.personal_rows, vault, self.clock)
        log = SecurityLog(self.events, self.clock, self.personal.seal_event)
        self.keys = Keys(self.key_rows, self.clock, log)
        self.parties = Parties(self.party_rows, self.clock, self.keys, self.personal)
        self.users = Users(self.user_rows, self.clock, log, self.parties, self.personal, DirMailer(str(tmp_path)))
        self.accounts = Accounts(FakeLedger(self.clock), FakeWallets())  # type: ignore[arg-type]
        repo = FakePrivacy(self.party_rows, self.personal_rows, self.key_rows, self.events, self.user_rows)
        self.privacy = Privacy(repo, self.personal, log, self.keys, self.accounts, self.clock)

    def customer(self, name: str = "Ada Lovelace-Qz") -> tuple[str, Principal, str]:
        party, key_id, secret = self.parties.create(OPERATOR, "customer", name, "DE", personal={"email": "a@x.test"})
        return party, Principal(key_id, "customer", party, "test", frozenset(SCOPES["customer"].split())), secret


def test_the_customer_and_the_operator_read_it_and_nobody_else(tmp_path: Path) -> None:
    rights = Rights(tmp_path)
    customer, me, _ = rights.customer()
    other, them, _ = rights.customer("Bob")
    mine = rights.privacy.read(me, customer)
    assert mine["name"] == "Ada Lovelace-Qz" and mine["email"] == "a@x.test" and mine["country"] == "DE"
    assert rights.privacy.read(OPERATOR, customer) == mine
    merchant, _, _ = rights.parties.create(OPERATOR, "merchant", "M")
    live = Principal("key_live", "operator", None, "live", OPERATOR.scopes)
    for who, whom in ((them, customer), (OPERATOR, merchant), (live, customer), (me, "cus_nobody")):
        with pytest.raises(PlatformError) as refused:
            rights.privacy.read(who, whom)
        assert refused.value.code is ErrorCode.not_found
    assert rights.privacy.read(them, other)["name"] == "Bob"


def test_erasure_leaves_nothing_readable_and_keeps_the_money(tmp_path: Path) -> None:
    rights = Rights(tmp_path)
    customer, me, _ = rights.customer()
    wallet = rights.accounts.wallet_account(customer, "customer", currency("USD"))
    done = rights.privacy.erase(me, customer)
    assert done["erased_ms"] == rights.clock()
    assert rights.personal.profile(customer) is None and rights.personal_rows.fields(customer) == []
    after = rights.privacy.read(OPERATOR, customer)
    assert after["name"] is None and after["erased_ms"] == done["erased_ms"] and after["country"] == "DE"
    assert [a.id for a in rights.accounts.ledger.accounts([wallet])] == [wallet]
    assert rights.events.kinds()[-1] == "privacy.erased"
    with pytest.raises(PlatformError) as unknown:
        rights.privacy.erase(None, "cus_nobody")  # the operator's CLI names no one
    assert unknown.value.code is ErrorCode.not_found


def test_closing_revokes_keys_and_ends_sessions_at_once_and_the_sweep_erases_after_retention(tmp_path: Path) -> None:
    rights = Rights(tmp_path)
    user = rights.users.sign_up("reader@example.test", "correct horse battery", "Reader")
    customer = user.party_id or ""
    session = rights.users.sign_in("reader@example.test", "correct horse battery")
    [stored] = rights.key_rows.of_party(customer)
    key_id, secret = rights.keys.new(Principal(stored.id, "customer", customer, "test", frozenset({"read"})))
    assert rights.keys.authenticate(secret) is not None  # remembered by this process now
    me = Principal(key_id, "customer", customer, "test", frozenset(SCOPES["customer"].split()))
    closed = rights.privacy.close(me, customer)["closed_ms"]
    assert rights.keys.authenticate(secret) is None and rights.users.session(session.token, None) is None
    rights.clock.advance(10 * DAY)
    assert rights.privacy.close(OPERATOR, customer)["closed_ms"] == closed  # closed once
    assert rights.privacy.sweep(30) == []
    rights.clock.advance(20 * DAY)
    assert rights.privacy.sweep(30) == [customer]
    assert rights.personal.profile(customer) is None and rights.privacy.sweep(30) == []


def test_an_export_holds_keys_wallets_and_the_sealed_sign_in_evidence_until_erasure(tmp_path: Path) -> None:
    rights = Rights(tmp_path)
    user = rights.users.sign_up("reader@example.test", "correct horse battery", "Reader")
    customer = user.party_id or ""
    rights.users.sign_in("reader@example.test", "correct horse battery", "203.0.113.7", "Mozilla/5.0 (Quirky)")
    rights.accounts.wallet_account(customer, "customer", currency("EUR"))
    export = rights.privacy.export(OPERATOR, customer)
    assert export["customer"]["name"] == "Reader" and [k["kind"] for k in export["api_keys"]] == ["customer"]
    assert [(w["currency"], w["credits_posted"]) for w in export["wallets"]] == [("EUR", "0.00")]
    seen = [e["personal"] for e in export["security_events"] if e["personal"]]
    assert {"ip": "203.0.113.7", "user_agent": "Mozilla/5.0 (Quirky)"} in seen
    rights.privacy.erase(OPERATOR, customer)
    after = rights.privacy.export(OPERATOR, customer)["security_events"]
    assert len(after) == len(export["security_events"]) + 1 and all(e["personal"] is None for e in after)
