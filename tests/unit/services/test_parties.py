"""Parties on a fake repository: made only by an operator, checked by kind and mode, profiles cached."""

from __future__ import annotations

import pytest
from fakes import FakeKeys, FakeParties, FakeSecurityEvents

from farthing.clock import ManualClock
from farthing.domain.principals import Principal, Profile
from farthing.errors import ErrorCode, PlatformError
from farthing.services.keys import Keys
from farthing.services.parties import Parties
from farthing.services.security_log import SecurityLog

OPERATOR = Principal("key_op", "operator", None, "test", frozenset({"parties:write"}))


def _parties() -> tuple[Parties, FakeParties, Keys]:
    clock = ManualClock(1_800_000_000_000)
    keys = Keys(FakeKeys(), clock, SecurityLog(FakeSecurityEvents(), clock, lambda s, p: None))
    repo = FakeParties()
    return Parties(repo, clock, keys, None), repo, keys


def test_an_operator_makes_a_party_with_its_first_key() -> None:
    parties, repo, keys = _parties()
    party, key_id, secret = parties.create(OPERATOR, "merchant", "Daily", "DE")
    assert party.startswith("mer_") and repo.rows[party][1:4] == ("merchant", "Daily", "test")
    principal = keys.authenticate(secret)
    assert principal is not None and principal.key_id == key_id and principal.party_id == party


def test_only_an_operator_with_the_scope_makes_parties() -> None:
    parties, repo, _ = _parties()
    for who in (Principal("k", "merchant", "mer_1", "test", frozenset({"parties:write"})),
                Principal("k", "operator", None, "test", frozenset({"read"}))):  # fmt: skip
        with pytest.raises(PlatformError) as refused:
            parties.create(who, "customer", "C")
        assert refused.value.code is ErrorCode.forbidden
    assert repo.rows == {}


def test_a_party_of_another_kind_or_mode_is_not_found_and_a_known_one_is_not_read_again() -> None:
    parties, repo, _ = _parties()
    merchant, _, _ = parties.create(OPERATOR, "merchant", "M")
    for kind, mode in (("customer", "test"), ("merchant", "live")):
        with pytest.raises(PlatformError) as missing:
            parties.check(merchant, kind, mode)
        assert missing.value.code is ErrorCode.not_found
    parties.check(merchant, "merchant", "test")
    reads = repo.reads
    parties.check(merchant, "merchant", "test")
    assert repo.reads == reads


def test_a_profile_is_read_once_and_an_unknown_party_has_the_default() -> None:
    parties, repo, _ = _parties()
    customer, _, _ = parties.create(OPERATOR, "customer", "C", "KR", "minor")
    assert parties.profile(customer) == Profile("KR", "minor")
    reads = repo.reads
    assert parties.profile(customer) == Profile("KR", "minor") and repo.reads == reads
    assert parties.profile("cus_unknown") == Profile()
