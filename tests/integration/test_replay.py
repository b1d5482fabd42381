"""`farthing policy replay`: the payments a ledger recorded, re-decided under another pack."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import mid_month_clock
from farthing.adapters.recorded_sql import RecordedTable
from farthing.bootstrap import open_platform
from farthing.domain.principals import Principal
from farthing.services.amounts import positive_money
from farthing.services.payments.model import PaymentItem
from farthing.services.policies import load
from farthing.services.replay import replay

STRICT = """
[pack]
id = "kr-strict"
extends = ["kr"]

[[limits]]
id = "kr.micropayment.monthly"
period = "month"
max = "300000"
currency = "KRW"
when = { age_band = ["adult"] }
source = "what if the monthly cap were 300,000 won?"
"""


@pytest.mark.any_date
def test_a_lower_cap_replayed_over_recorded_payments(store_url: str, tmp_path: Path) -> None:
    platform = open_platform(store_url, clock=mid_month_clock())  # recorded with no policy: a 2 % fee, no caps
    try:
        operator = Principal("op", "operator", None, "test", frozenset({"parties:write"}))
        merchant, _, _ = platform.parties.create(operator, "merchant", "Webtoon", "KR")
        payers = {}
        for band in ("adult", "minor"):
            cid, key_id, _ = platform.parties.create(operator, "customer", band, "KR", band)
            payers[band] = Principal(key_id, "customer", cid, "test", frozenset({"payments:write", "topups:write"}))
            platform.topups.top_up(payers[band], positive_money("1000000", "KRW"), "4242424242424242")
        for _ in range(4):
            platform.payments.pay(payers["adult"], PaymentItem.of(merchant, "100000", "KRW"), None)
        for _ in range(3):
            platform.payments.pay(payers["minor"], PaymentItem.of(merchant, "50000", "KRW"), None)
        db = platform.db

        report = replay(RecordedTable(db), load("kr"))
        assert (report.payments, report.allowed, report.denied, report.stepped_up) == (7, 6, 1, 0)
        assert report.by_rule == {"kr.micropayment.monthly_minor": 1}
        assert report.fees_then == 2 * (400_000 + 150_000) // 100  # whole won
        assert report.fees_now == 2 * (400_000 + 100_000) // 100
        assert report.taxes_now > 0
    finally:
        platform.close()

    pack = tmp_path / "kr-strict.toml"
    pack.write_text(STRICT)
    out = subprocess.run(
        [sys.executable, "-m", "farthing.cli", "policy", "replay", "--pack", "kr-strict", "--db", store_url,
         "--policies", str(pack), "--json"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert out.returncode == 0, out.stdout + out.stderr
    answer = json.loads(out.stdout.strip().splitlines()[-1])
    assert (answer["payments"], answer["denied"], answer["denied_value"]) == (7, 2, "150000")
    assert answer["by_rule"] == {"kr.micropayment.monthly": 1, "kr.micropayment.monthly_minor": 1}
