"""Envelope encryption: a master-key rotation re-wraps the data keys, after which the old master key is
no longer needed; erasure from the CLI leaves nothing readable."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from pathlib import Path

import pytest

from farthing.adapters.key_vault import KeyVault, KeyVaultError
from farthing.adapters.personal_sql import PersonalTable
from farthing.bootstrap import open_platform
from farthing.clock import ManualClock
from farthing.domain.principals import Principal
from farthing.errors import ErrorCode, PlatformError
from farthing.services.personal_data import PersonalData

K1 = "k1:" + base64.b64encode(b"1" * 32).decode()
K2 = "k2:" + base64.b64encode(b"2" * 32).decode()


def test_rotation_rewraps_and_the_old_key_can_go(store_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FARTHING_MASTER_KEYS", K1)
    platform = open_platform(store_url)
    operator = Principal("op", "operator", None, "test", frozenset({"parties:write"}))
    try:
        customer, _, _ = platform.parties.create(operator, "customer", "Ada", personal={"email": "ada@example.test"})
        rows = PersonalTable(platform.db)
        both = PersonalData(rows, KeyVault.parse(f"{K2},{K1}"), platform.clock)  # k2 is current, k1 still unwraps
        assert both.profile(customer) == {"name": "Ada", "email": "ada@example.test", "phone": None, "address": None}
        assert both.rotate() == 1 and both.rotate() == 0
        only_new = PersonalData(rows, KeyVault.parse(K2), platform.clock)
        assert only_new.profile(customer)["email"] == "ada@example.test"  # type: ignore[index]
        with pytest.raises(KeyVaultError) as old_gone:
            PersonalData(rows, KeyVault.parse(K1), platform.clock).profile(customer)
        assert old_gone.value.code is ErrorCode.key_vault_invalid
    finally:
        platform.close()


def test_the_cli_erases_a_customer(tmp_path: os.PathLike[str]) -> None:
    url = f"sqlite:///{tmp_path}/ledger.db"
    platform = open_platform(url)
    operator = Principal("op", "operator", None, "test", frozenset({"parties:write"}))
    try:
        customer, _, _ = platform.parties.create(operator, "customer", "Grace Hopper-Qx")
    finally:
        platform.close()
    done = subprocess.run([sys.executable, "-m", "farthing.cli", "privacy", "erase", customer, "--db", url],
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    platform = open_platform(url)
    try:
        assert platform.identity.personal.profile(customer) is None  # type: ignore[union-attr]
    finally:
        platform.close()
    missing = subprocess.run([sys.executable, "-m", "farthing.cli", "privacy", "erase", "cus_nobody", "--db", url],
                             capture_output=True, text=True, timeout=60)  # fmt: skip
    assert missing.returncode == 2 and "not_found" in missing.stdout


def test_keys_that_are_not_keys_are_refused() -> None:
    for spec in ("", "k1", "k1:short", f"{K1},{K1}", "k1:!!!notbase64"):
        with pytest.raises(KeyVaultError):
            KeyVault.parse(spec)


def test_the_security_log_is_append_only(store_url: str) -> None:
    platform = open_platform(store_url)
    try:
        platform.log.record("test.event", None, None, note="kept")
        for statement in ("UPDATE security_events SET kind = 'x'", "DELETE FROM security_events"):
            with pytest.raises(Exception, match="append-only"):
                platform.db.query(statement)
        assert platform.db.query("SELECT kind FROM security_events") == [("test.event",)]
    finally:
        platform.close()


@pytest.mark.any_date
def test_a_closed_account_keeps_its_data_for_the_retention_period_then_is_erased(store_url: str) -> None:
    clock = ManualClock(1_797_166_800_000)  # 2026-12-14T12:00:00Z
    platform = open_platform(store_url, ["eu-de"], clock=clock)
    operator = Principal("op", "operator", None, "test", frozenset({"parties:write"}))
    try:
        customer, _, secret = platform.parties.create(operator, "customer", "Closing Person-Qy", "DE")
        assert platform.keys.authenticate(secret) is not None
        platform.privacy.close(operator, customer)
        assert platform.keys.authenticate(secret) is None  # its keys stop at once
        days = platform.policy.policies["EUR"].retention.personal_data_days_after_close  # type: ignore[union-attr]
        assert days == 1825
        assert platform.privacy.sweep(days) == []  # kept: within the retention period
        assert platform.identity.personal.profile(customer) is not None
        clock.advance((days + 1) * 86_400_000)
        assert platform.privacy.sweep(days) == [customer]
        assert platform.identity.personal.profile(customer) is None and platform.privacy.sweep(days) == []
    finally:
        platform.close()


def test_erasure_reaches_the_sign_in_ip_and_user_agent_in_the_append_only_security_log(
    store_url: str, tmp_path: Path
) -> None:
    """A sign-in's IP address and user agent are sealed under the customer's data key: its export shows
    them, its erasure makes them unreadable, and the log keeps every row (append-only)."""
    from farthing.adapters.users_sql import UserTable
    from farthing.services.users import DirMailer, Users

    platform = open_platform(store_url)
    try:
        users = Users(
            UserTable(platform.db),
            platform.clock,
            platform.log,
            platform.parties,
            platform.identity.personal,
            DirMailer(str(tmp_path / "mail")),
        )
        user = users.sign_up("reader@example.test", "correct horse battery", "Reader Ip-Qy")
        users.sign_in("reader@example.test", "correct horse battery", "203.0.113.7", "Mozilla/5.0 (Quirky)")
        with pytest.raises(PlatformError):
            users.sign_in("reader@example.test", "wrong password!", "198.51.100.9", "curl/8.5")
        customer = user.party_id
        assert customer is not None
        operator = Principal("op", "operator", None, "test", frozenset({"parties:write"}))
        seen = [e["personal"] for e in platform.privacy.export(operator, customer)["security_events"] if e["personal"]]
        assert {"ip": "203.0.113.7", "user_agent": "Mozilla/5.0 (Quirky)"} in seen
        assert {"ip": "198.51.100.9", "user_agent": "curl/8.5"} in seen
        before = platform.db.query("SELECT COUNT(*) FROM security_events WHERE party_id = ?", (customer,))[0][0]

        platform.privacy.erase(operator, customer)
        rows = platform.db.query("SELECT detail, personal FROM security_events WHERE party_id = ?", (customer,))
        assert len(rows) >= before  # nothing removed: the log is append-only
        for detail, personal in rows:
            assert "203.0.113" not in str(detail) and "Quirky" not in str(detail)
            assert personal is None or b"203.0.113" not in bytes(personal)
        after = platform.privacy.export(operator, customer)["security_events"]
        assert all(e["personal"] is None for e in after)  # the key is gone: nobody can read them now
    finally:
        platform.close()
