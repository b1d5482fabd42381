"""Keys on a fake repository: issuing, the cache of known keys, rolling, revoking, restricting."""

from __future__ import annotations

import hashlib

import pytest
from fakes import FakeKeys, FakeSecurityEvents

from farthing.clock import ManualClock
from farthing.domain.principals import Principal
from farthing.errors import ErrorCode, PlatformError
from farthing.services.keys import KEY_CACHE_MS, LAST_USED_EVERY_MS, Keys
from farthing.services.security_log import SecurityLog

T0 = 1_800_000_000_000


def _keys() -> tuple[Keys, FakeKeys, FakeSecurityEvents, ManualClock]:
    clock, repo, events = ManualClock(T0), FakeKeys(), FakeSecurityEvents()
    return Keys(repo, clock, SecurityLog(events, clock, lambda s, p: None)), repo, events, clock


def test_a_key_is_kept_only_as_its_digest_and_authenticates_to_its_principal() -> None:
    keys, repo, _, _ = _keys()
    key_id, secret = keys.issue("merchant", "mer_1", "test")
    stored, digest = repo.rows[key_id]
    assert digest == hashlib.sha256(secret.encode()).digest() and secret not in repr(stored)
    assert stored.prefix == secret[: len("sk_test_") + 4]
    principal = keys.authenticate(secret)
    assert principal == Principal(key_id, "merchant", "mer_1", "test", frozenset(stored.scopes.split()))
    assert keys.authenticate(secret + "x") is None


def test_known_keys_are_remembered_briefly_and_their_use_written_at_most_once_a_minute() -> None:
    keys, repo, _, clock = _keys()
    key_id, secret = keys.issue("customer", "cus_1", "test")
    keys.authenticate(secret)
    keys.authenticate(secret)
    assert repo.reads == 1 and repo.get(key_id).last_used_ms == T0  # type: ignore[union-attr]
    clock.advance(KEY_CACHE_MS)
    keys.authenticate(secret)
    assert repo.reads == 2 and repo.get(key_id).last_used_ms == T0  # type: ignore[union-attr]
    clock.advance(LAST_USED_EVERY_MS)
    keys.authenticate(secret)
    assert repo.get(key_id).last_used_ms == clock()  # type: ignore[union-attr]


def test_a_revoked_key_stops_at_once_and_is_logged() -> None:
    keys, _, events, _ = _keys()
    key_id, secret = keys.issue("merchant", "mer_1", "test")
    owner = keys.authenticate(secret)
    assert owner is not None
    keys.revoke(owner, key_id)
    assert keys.authenticate(secret) is None  # the cache forgot it too
    assert events.kinds() == ["key.revoked"]


def test_a_rolled_key_works_for_the_overlap_then_stops() -> None:
    keys, _, events, clock = _keys()
    key_id, secret = keys.issue("merchant", "mer_1", "test")
    owner = keys.authenticate(secret)
    assert owner is not None
    new_id, new_secret = keys.roll(owner, key_id, overlap_s=60)
    assert keys.key(new_id).scopes == keys.key(key_id).scopes
    assert keys.authenticate(secret) is not None
    clock.advance(60_000)
    assert keys.authenticate(secret) is None and keys.authenticate(new_secret) is not None
    assert events.kinds() == ["key.rolled"]


def test_another_partys_key_is_not_found_and_scopes_only_narrow() -> None:
    keys, _, _, _ = _keys()
    mine, secret = keys.issue("merchant", "mer_1", "test")
    theirs, _ = keys.issue("merchant", "mer_2", "test")
    owner = keys.authenticate(secret)
    assert owner is not None
    with pytest.raises(PlatformError) as other:
        keys.revoke(owner, theirs)
    assert other.value.code is ErrorCode.not_found
    with pytest.raises(PlatformError) as wider:
        keys.new(owner, ["parties:write"])
    assert wider.value.code is ErrorCode.validation_failed
    narrow_id, _ = keys.new(owner, ["read"])
    assert keys.key(narrow_id).scopes == "read"
    assert [k.id for k in keys.keys(owner)] == [mine, narrow_id]


class _FullDisk(FakeKeys):
    def touch(self, key_id: str, now_ms: int) -> None:
        raise OSError(28, "No space left on device")


def test_a_key_still_authenticates_when_its_use_cannot_be_recorded() -> None:
    clock, repo, events = ManualClock(T0), _FullDisk(), FakeSecurityEvents()
    keys = Keys(repo, clock, SecurityLog(events, clock, lambda s, p: None))
    key_id, secret = keys.issue("merchant", "mer_1", "test")
    principal = keys.authenticate(secret)  # reads keep working on a full disk
    assert principal is not None and principal.key_id == key_id and repo.get(key_id).last_used_ms is None  # type: ignore[union-attr]
