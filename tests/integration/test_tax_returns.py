"""A quarter's returns from its closed months, on both stores: the EU One-Stop-Shop lines per member
state of consumption and rate (the home state left out) are the months' closed bases added up (net of
tax, the tax each month booked), written as the Union scheme's CSV upload; the UK VAT return's boxes
come from the GB months; a quarter with a month still open is refused."""

from __future__ import annotations

import subprocess
import sys

import pytest

from farthing.bootstrap import Platform, open_platform
from farthing.domain.money import currency
from farthing.domain.policy.evaluate import Evidence
from farthing.domain.policy.load import compose, parse
from farthing.domain.principals import Principal
from farthing.domain.tax_returns import oss_csv, uk_boxes
from farthing.errors import ErrorCode, PlatformError
from farthing.services.amounts import positive_money
from farthing.services.payments.model import PaymentItem
from farthing.services.policies import shipped

OCT_10, NOV_10, DEC_10 = 1_791_633_600_000, 1_794_312_000_000, 1_796_904_000_000  # 12:00 UTC each
JAN_2 = 1_798_891_200_000  # 2027-01-02 12:00 UTC: the quarter has ended everywhere
OPERATOR = Principal("op", "operator", None, "test", frozenset({"parties:write", "read"}))
EU_VAT = """
[pack]
id = "eu-vat"
extends = ["platform"]
currency = "EUR"
timezone = "Europe/Berlin"

[tax]
id = "vat"
kind = "vat"
inclusive = true
evidence_required = 2
rates = { DE = "19", FR = "20", GR = "24" }
source = "Directive 2006/112/EC Art. 58 (a test pack: three member states' standard rates)"
"""


def _payer(platform: Platform, country: str, code: str) -> Principal:
    cid, key, _ = platform.parties.create(OPERATOR, "customer", "Reader", country)
    payer = Principal(key, "customer", cid, "test", frozenset({"payments:write", "topups:write"}))
    platform.topups.top_up(payer, positive_money("100.00", code), "4242424242424242")
    return payer


@pytest.mark.any_date
def test_the_oss_return_adds_up_the_quarters_closed_months(store_url: str) -> None:
    now = [OCT_10]
    platform = open_platform(store_url, clock=lambda: now[0])
    platform.policy.policies["EUR"] = compose({**shipped(), "eu-vat": parse(EU_VAT, "eu-vat.toml")}, "eu-vat")
    try:
        shop, _, _ = platform.parties.create(OPERATOR, "merchant", "Zeitung", "DE")
        readers = {c: _payer(platform, c, "EUR") for c in ("DE", "FR", "GR")}

        def pay(country: str, amount: str, times: int = 1) -> None:
            for _ in range(times):
                item = PaymentItem.of(shop, amount, "EUR", evidence=Evidence(ip=country))
                platform.payments.pay(readers[country], item, None)

        pay("FR", "0.01", 7)  # October: seven cents from France, tax 20/120 of each, rounded once a month
        pay("DE", "3.00")  # home: in the domestic return, not the OSS one
        now[0] = NOV_10
        pay("GR", "12.40")  # 24 % included: 10.00 net, 2.40 VAT exactly
        now[0] = DEC_10
        pay("FR", "1.00")
        now[0] = JAN_2
        closed = [r for month in ("2026-10", "2026-11") for r in platform.tax.close_period(month)]
        with pytest.raises(PlatformError) as open_month:
            platform.tax.quarter("2026-Q4", "EUR")
        assert open_month.value.code is ErrorCode.validation_failed and "2026-12" in open_month.value.detail
        closed += platform.tax.close_period("2026-12")
        t = platform.tax.quarter("2026-Q4", "EUR", leave_out="DE")
        assert [(x.place, x.rate_ppm) for x in t.lines] == [("FR", 200_000), ("GR", 240_000)]
        fr = t.lines[0]
        assert fr.tax == sum(r.remitted for r in closed if r.place == "FR") == 180_000  # 0.01 + 0.17, as booked
        assert fr.net == 890_000  # 1.07 gross less its exact tax (11,667 + 166,667 units): 0.891666, to the cent
        assert t.residue == sum(r.residue for r in closed if r.place != "DE")
        text, corrections = oss_csv(t, "EU372000041", currency("EUR"))
        assert corrections == []
        assert text.splitlines() == ["1;EU372000041;1;FR;2;1;20,00;0,89;0,18;;;;",
                                     "2;EU372000041;1;EL;2;1;24,00;10,00;2,40;;;;"]  # fmt: skip
        home = platform.tax.quarter("2026-Q4", "EUR")  # nothing left out: the home state's line too
        assert [x.place for x in home.lines] == ["DE", "FR", "GR"]
    finally:
        platform.close()


def test_the_uk_vat_return_boxes_come_from_the_gb_months(tmp_path: object) -> None:
    now = [OCT_10]
    platform = open_platform(f"sqlite:///{tmp_path}/ledger.db", ["uk"], clock=lambda: now[0])
    try:
        shop, _, _ = platform.parties.create(OPERATOR, "merchant", "Paper", "GB")
        reader = _payer(platform, "GB", "GBP")
        for amount in ("1.20", "6.00", "0.05"):
            platform.payments.pay(reader, PaymentItem.of(shop, amount, "GBP", evidence=Evidence(ip="GB")), None)
        now[0] = JAN_2
        for month in ("2026-10", "2026-11", "2026-12"):
            platform.tax.close_period(month)
        boxes = uk_boxes(platform.tax.quarter("2026-Q4", "GBP"), currency("GBP"))
        # 7.25 gross with 20 % included: 1.208333 VAT, booked as 1.21; 6.041667 net: 6 whole pounds
        assert boxes == {"box1": "1.21", "box2": "0.00", "box3": "1.21", "box4": "0.00", "box5": "1.21",
                         "box6": "6", "box7": "0", "box8": "0", "box9": "0"}  # fmt: skip
        with pytest.raises(PlatformError):
            platform.tax.quarter("2026-Q5", "GBP")
    finally:
        platform.close()
    db = f"sqlite:///{tmp_path}/ledger.db"
    told = subprocess.run([sys.executable, "-m", "farthing.cli", "tax", "uk", "--quarter", "2026-Q4", "--db", db],
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert told.returncode == 0 and "Box 1" in told.stdout and "1.21" in told.stdout, told.stdout + told.stderr
    oss = subprocess.run([sys.executable, "-m", "farthing.cli", "tax", "oss", "--quarter", "2026-Q4", "--vat-number",
                          "EU372000041", "--db", db], capture_output=True, text=True, timeout=60)  # fmt: skip
    assert oss.returncode == 0 and oss.stdout == "" and "0.00 EUR" in oss.stderr, oss.stdout + oss.stderr  # none
    bad = subprocess.run([sys.executable, "-m", "farthing.cli", "tax", "uk", "--quarter", "2026-4", "--db", db],
                         capture_output=True, text=True, timeout=60)  # fmt: skip
    assert bad.returncode == 2 and "2026-Q4" in bad.stdout + bad.stderr


def test_japans_consumption_tax_for_a_year_from_its_closed_months(tmp_path: object) -> None:
    now = [OCT_10]
    platform = open_platform(f"sqlite:///{tmp_path}/ledger.db", ["jp"], clock=lambda: now[0])
    try:
        shop, _, _ = platform.parties.create(OPERATOR, "merchant", "Shinbun", "JP")
        cid, key, _ = platform.parties.create(OPERATOR, "customer", "Dokusha", "JP")
        reader = Principal(key, "customer", cid, "test", frozenset({"payments:write", "topups:write"}))
        platform.topups.top_up(reader, positive_money("50000", "JPY"), "4242424242424242")
        for _ in range(3):
            platform.payments.pay(reader, PaymentItem.of(shop, "11000", "JPY", evidence=Evidence(ip="JP")), None)
        now[0] = JAN_2
        platform.tax.close_period("2026-10")
    finally:
        platform.close()
    db = f"sqlite:///{tmp_path}/ledger.db"
    told = subprocess.run([sys.executable, "-m", "farthing.cli", "tax", "jp", "--period", "2026", "--db", db],
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    # 33,000 yen with 10 % included: 30,000 net; 7.8 % is 2,340, due 2,300; local 22/78 of it 648.7: 600
    assert told.returncode == 0, told.stdout + told.stderr
    for figure in ("30,000", "2,300", "600", "2,900", "3,000"):
        assert figure in told.stdout, told.stdout
