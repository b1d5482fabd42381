"""Merchants' overrides on a fake repository: remembered per merchant, one epoch read per second at most,
a change made elsewhere seen once the epoch moved, a refused override keeping the one in force."""

from __future__ import annotations

import pytest
from fakes_policy import FakeOverrideRows

from farthing.domain.policy.load import compose
from farthing.errors import ErrorCode
from farthing.services.overrides import CACHE_S, SOURCE_MAX, OverrideError, Overrides
from farthing.services.policies import shipped
from sample_packs import SHOP_OVERRIDE

LOOSER = SHOP_OVERRIDE.replace('max = "300000"', 'max = "9000000"')


class Seconds:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_an_override_decides_its_merchants_payments_and_is_remembered() -> None:
    base = compose(shipped(), "kr")
    rows, seconds = FakeOverrideRows(), Seconds()
    overrides = Overrides(rows, seconds)
    assert overrides.policy(base, "mer_other") is base
    put = overrides.put(base, "mer_shop", SHOP_OVERRIDE, 5)
    assert overrides.policy(base, "mer_shop").version == put.policy.version != base.version
    reads = rows.reads
    for _ in range(10):
        overrides.policy(base, "mer_shop")
    assert rows.reads == reads  # remembered
    got = overrides.get(base, "mer_shop")
    assert got is not None and (got.source, got.updated_ms) == (SHOP_OVERRIDE, 5)
    assert overrides.get(base, "mer_other") is None


def test_a_change_made_by_another_process_is_seen_once_its_epoch_is_read() -> None:
    base = compose(shipped(), "kr")
    rows, seconds = FakeOverrideRows(), Seconds()
    here, there = Overrides(rows, seconds), Overrides(rows, seconds)
    assert here.policy(base, "mer_shop") is base
    there.put(base, "mer_shop", SHOP_OVERRIDE, 0)
    seconds.now += CACHE_S / 2
    assert here.policy(base, "mer_shop") is base  # within the cache's second: the old answer
    seconds.now += CACHE_S / 2
    assert here.policy(base, "mer_shop") is not base
    assert there.delete(base, "mer_shop") and not there.delete(base, "mer_shop")
    seconds.now += CACHE_S
    assert here.policy(base, "mer_shop") is base


def test_a_refused_override_leaves_the_one_in_force() -> None:
    base = compose(shipped(), "kr")
    overrides = Overrides(FakeOverrideRows(), Seconds())
    kept = overrides.put(base, "mer_shop", SHOP_OVERRIDE, 0)
    for source in (LOOSER, "not toml [", "x" * (SOURCE_MAX + 1)):
        with pytest.raises(OverrideError) as refused:
            overrides.put(base, "mer_shop", source, 1)
        assert refused.value.code is ErrorCode.policy_invalid
    assert overrides.policy(base, "mer_shop").version == kept.policy.version
