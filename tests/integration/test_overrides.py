"""A merchant's override put through one process reaches another within a second (one counter row
read per second, not one read per merchant), and so does its removal."""

from __future__ import annotations

import time

from conftest import mid_month_clock
from farthing.bootstrap import open_platform
from farthing.services.overrides import CACHE_S
from sample_packs import SHOP_OVERRIDE


def test_an_override_reaches_another_process_within_a_second_and_so_does_its_removal(store_url: str) -> None:
    clock = mid_month_clock()
    one, two = open_platform(store_url, ["kr"], clock=clock), open_platform(store_url, ["kr"], clock=clock)
    try:
        base_one, base_two = one.policy.for_currency("KRW"), two.policy.for_currency("KRW")
        assert base_one is not None and base_two is not None
        assert two.policy.for_payment("KRW", "mer_shop") is base_two  # remembered: no override
        put = one.policy.overrides.put(base_one, "mer_shop", SHOP_OVERRIDE, 0)
        mine = one.policy.for_payment("KRW", "mer_shop")  # the process that put it: at once
        assert mine is not None and mine.version == put.policy.version
        time.sleep(CACHE_S + 0.05)
        seen = two.policy.for_payment("KRW", "mer_shop")
        assert seen is not None and seen.version == put.policy.version
        assert two.policy.for_payment("KRW", "mer_other") is base_two  # other merchants keep the pack
        assert one.policy.overrides.delete(base_one, "mer_shop")
        time.sleep(CACHE_S + 0.05)
        assert two.policy.for_payment("KRW", "mer_shop") is base_two
    finally:
        one.close()
        two.close()
