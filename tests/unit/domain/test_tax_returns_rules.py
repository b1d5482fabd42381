"""Tax return arithmetic: a base's tax rounded once (the residue kept), a quarter's lines by place and
rate, the OSS upload's rows (decimal commas, Greece as EL, lines below zero set apart), the UK boxes."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from farthing.domain.money import currency
from farthing.domain.tax_returns import ClosedBase, jp_return, oss_csv, quarter_months, tax_of, totals, uk_boxes
from farthing.errors import PlatformError

EUR, GBP = currency("EUR"), currency("GBP")


@given(st.integers(-(10**12), 10**12), st.integers(0, 300_000), st.booleans())
def test_the_tax_is_rounded_once_and_the_residue_kept(gross: int, rate: int, inclusive: bool) -> None:
    exact, remitted, residue = tax_of(gross, rate, inclusive, EUR)
    assert remitted + residue == exact and remitted % 10_000 == 0 and abs(residue) <= 5_000
    assert tax_of(-gross, rate, inclusive, EUR)[0] == -exact  # a base below zero gives back the same tax


def test_a_quarter_adds_its_months_by_place_and_rate_and_leaves_the_home_state_out() -> None:
    bases = [ClosedBase("FR", 200_000, True, 1_200_000), ClosedBase("FR", 200_000, True, 1_200_000),
             ClosedBase("FR", 55_000, True, 1_055_000), ClosedBase("DE", 190_000, True, 1_190_000)]  # fmt: skip
    t = totals(bases, EUR, leave_out="DE")
    assert [(x.place, x.rate_ppm, x.net, x.tax) for x in t.lines] == [
        ("FR", 200_000, 2_000_000, 400_000), ("FR", 55_000, 1_000_000, 60_000)]  # fmt: skip
    assert t.residue == -5_000  # 55,000 exact, 60,000 booked
    assert quarter_months("2026-Q1") == ("2026-01", "2026-02", "2026-03")
    for bad in ("2026-Q0", "2026Q1", "26-Q1", "2026-Q5"):
        with pytest.raises(PlatformError):
            quarter_months(bad)


def test_the_oss_rows_and_the_lines_set_apart() -> None:
    t = totals([ClosedBase("GR", 240_000, True, 12_400_000), ClosedBase("IE", 230_000, True, -1_230_000)], EUR)
    text, corrections = oss_csv(t, "EU372000041", EUR, reduced=True)
    assert text == "1;EU372000041;1;EL;2;2;24,00;10,00;2,40;;;;\r\n"
    assert [(c.place, c.net) for c in corrections] == [("IE", -1_000_000)]
    with pytest.raises(PlatformError):
        oss_csv(totals([], GBP), "EU372000041", GBP)


def test_the_uk_boxes_drop_pence_only_where_hmrc_asks() -> None:
    boxes = uk_boxes(totals([ClosedBase("GB", 200_000, True, 12_345_678)], GBP), GBP)
    assert (boxes["box1"], boxes["box5"], boxes["box6"]) == ("2.06", "2.06", "10")  # 10.288065 net: 10 pounds


def test_japans_return_truncates_the_base_to_thousands_and_the_tax_to_hundreds_of_yen() -> None:
    yen = currency("JPY")
    t = totals([ClosedBase("JP", 100_000, True, 1_234_567), ClosedBase("JP", 100_000, True, 98_765)], yen)
    figures = jp_return(t, yen)
    # 1,234,567 yen with 10 % included: 112,233 tax, 1,122,334 net; 98,765: 8,979 tax, 89,786 net
    assert figures["taxable_sales"] == 1_122_334 + 89_786
    assert figures["tax_base"] == 1_212_000
    assert figures["national_tax"] == 94_500  # 7.8 % of 1,212,000 is 94,536: hundreds of yen
    assert figures["local_tax"] == 26_600  # 22/78 of 94,500 is 26,653.8
    assert figures["total_due"] == 121_100 and figures["booked"] == 112_233 + 8_979
    with pytest.raises(PlatformError):
        jp_return(t, EUR)
