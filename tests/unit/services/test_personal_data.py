"""Personal data on a fake repository: sealed at rest, read back, bound to its subject and field,
re-wrapped by a rotation, and unreadable once the data key is gone."""

from __future__ import annotations

import base64

import pytest
from fakes import FakePersonal

from farthing.adapters.key_vault import KeyVault
from farthing.clock import ManualClock
from farthing.errors import FarthingError
from farthing.services.personal_data import PersonalData

K1 = "k1:" + base64.b64encode(b"1" * 32).decode()
K2 = "k2:" + base64.b64encode(b"2" * 32).decode()


def _personal(spec: str = K1) -> tuple[PersonalData, FakePersonal]:
    repo = FakePersonal()
    return PersonalData(repo, KeyVault.parse(spec), ManualClock(0)), repo


def test_fields_are_sealed_at_rest_and_read_back() -> None:
    personal, repo = _personal()
    personal.seal_profile("cus_1", {"name": "Ada", "email": "ada@example.test", "phone": None})
    assert all(b"Ada" not in v and b"ada@" not in v for v in repo.sealed.values())
    assert ("cus_1", "phone") not in repo.sealed
    assert personal.profile("cus_1") == {"name": "Ada", "email": "ada@example.test", "phone": None, "address": None}
    assert personal.profile("cus_2") is None


def test_a_value_moved_to_another_subject_or_field_does_not_open() -> None:
    personal, repo = _personal()
    personal.seal_profile("cus_1", {"name": "Ada", "email": "ada@example.test"})
    personal.seal_profile("cus_2", {"name": "Bob"})
    repo.sealed[("cus_1", "name")] = repo.sealed[("cus_1", "email")]  # another field's ciphertext
    with pytest.raises(FarthingError):
        personal.profile("cus_1")
    repo.sealed[("cus_1", "name")] = repo.sealed[("cus_2", "name")]  # another subject's
    with pytest.raises(FarthingError):
        personal.profile("cus_1")


def test_rotation_rewraps_every_key_once_and_the_data_stays() -> None:
    old, repo = _personal(K1)
    old.seal_profile("cus_1", {"name": "Ada"})
    event = old.seal_event("cus_1", {"ip": "203.0.113.7"})
    rotated = PersonalData(repo, KeyVault.parse(f"{K2},{K1}"), ManualClock(0))
    assert rotated.rotate() == 1 and rotated.rotate() == 0
    only_new = PersonalData(repo, KeyVault.parse(K2), ManualClock(0))
    assert only_new.profile("cus_1")["name"] == "Ada"  # type: ignore[index]
    key = only_new.data_key("cus_1", create=False)
    assert only_new.opened_event("cus_1", key, event) == {"ip": "203.0.113.7"}


def test_without_its_data_key_nothing_opens_and_an_erased_subject_gets_nothing_sealed() -> None:
    personal, repo = _personal()
    personal.seal_profile("cus_1", {"name": "Ada"})
    del repo.keys["cus_1"]  # crypto-shredding
    assert personal.profile("cus_1") is None
    repo.erased_subjects.add("cus_1")
    assert personal.seal_event("cus_1", {"ip": "203.0.113.7"}) is None and "cus_1" not in repo.keys
