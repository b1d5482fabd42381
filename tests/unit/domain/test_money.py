"""Money is exact: integers of ledger units, decimal strings at the edges, nothing lost in splits."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from farthing.domain.money import (
    AmountFloatError,
    Currency,
    Money,
    MoneyError,
    allocate,
    currency,
    format_amount,
    formatter,
    parse_amount,
    round_to_exponent,
    share,
)
from farthing.errors import ErrorCode

USD = currency("USD")
KRW = currency("KRW")


@pytest.mark.parametrize(
    ("text", "units"),
    [
        ("0.0025", 2_500),
        ("0.000001", 1),
        ("1", 1_000_000),
        ("12.5", 12_500_000),
        ("-0.01", -10_000),
        ("0", 0),
    ],
)
def test_parse_decimal_strings_exactly(text: str, units: int) -> None:
    assert USD.parse(text) == units


def test_parse_accepts_decimal_and_int_but_never_float() -> None:
    assert USD.parse(Decimal("0.0025")) == 2_500
    assert USD.parse(3) == 3_000_000
    with pytest.raises(TypeError):
        USD.parse(0.0025)  # type: ignore[arg-type]
    with pytest.raises(AmountFloatError) as info:
        Money(0.5, USD)  # type: ignore[arg-type]
    assert info.value.code is ErrorCode.amount_float_not_allowed


@pytest.mark.parametrize("text", ["1e-3", "0x10", " 1", "1.", ".5", "--1", "1,5", "", "NaN", "01"])
def test_parse_refuses_what_is_not_a_plain_decimal(text: str) -> None:
    with pytest.raises(MoneyError) as info:
        USD.parse(text)
    assert info.value.code is ErrorCode.amount_invalid


def test_parse_refuses_more_places_than_the_ledger_keeps_instead_of_rounding() -> None:
    with pytest.raises(MoneyError) as info:
        USD.parse("0.0000001")
    assert info.value.code is ErrorCode.amount_too_precise
    assert USD.parse("0.0000010") == 1  # trailing zeros are not precision


def test_non_finite_decimal_is_refused() -> None:
    with pytest.raises(MoneyError):
        USD.parse(Decimal("Infinity"))


def test_unknown_currency_is_an_error_not_a_guess() -> None:
    with pytest.raises(MoneyError) as info:
        currency("XYZ")
    assert info.value.code is ErrorCode.currency_unknown
    assert currency("usd") is USD


def test_currency_scale_below_exponent_is_refused() -> None:
    with pytest.raises(MoneyError):
        Currency("USD", 2, 840, scale=1)


def test_format_keeps_the_iso_exponent_and_trims_the_rest() -> None:
    assert format_amount(2_500, USD) == "0.0025"
    assert format_amount(5_000_000, USD) == "5.00"
    assert format_amount(-10_000, USD) == "-0.01"
    assert format_amount(1_500, KRW) == "1500" and format_amount(3, KRW) == "3"  # whole won: no minor units


@given(st.integers(min_value=-(10**30), max_value=10**30))
def test_format_then_parse_round_trips(units: int) -> None:
    assert parse_amount(format_amount(units, USD), USD) == units


def test_money_refuses_to_mix_currencies() -> None:
    with pytest.raises(MoneyError) as info:
        Money(1, USD) + Money(1, currency("EUR"))
    assert info.value.code is ErrorCode.currency_mismatch
    assert str(Money.parse("0.0025", "USD") + Money.parse("0.0075", "USD")) == "0.01 USD"


@given(
    st.integers(min_value=-(10**24), max_value=10**24),
    st.lists(st.integers(min_value=0, max_value=10**6), min_size=1, max_size=12).filter(lambda r: sum(r) > 0),
)
def test_allocate_hands_out_every_unit_and_stays_within_one_of_the_exact_share(units: int, ratios: list[int]) -> None:
    parts = allocate(units, ratios)
    assert sum(parts) == units
    total = sum(ratios)
    for part, ratio in zip(parts, ratios, strict=True):
        exact = Decimal(units) * ratio / total
        assert abs(Decimal(part) - exact) < 1
        if ratio == 0:
            assert part == 0


def test_allocate_gives_leftover_units_to_the_largest_remainders() -> None:
    assert allocate(100, [1, 1, 1]) == [34, 33, 33]
    assert allocate(5, [3, 7]) == [2, 3]  # shares 1.5 and 3.5: a tie, to the earlier part
    assert allocate(-100, [1, 1, 1]) == [-34, -33, -33]


def test_allocate_refuses_bad_ratios() -> None:
    with pytest.raises(ValueError):
        allocate(10, [])
    with pytest.raises(ValueError):
        allocate(10, [0, 0])
    with pytest.raises(ValueError):
        allocate(10, [-1, 2])
    with pytest.raises(TypeError):
        allocate(10, [0.5, 0.5])  # type: ignore[list-item]


@given(st.integers(min_value=-(10**20), max_value=10**20), st.integers(min_value=0, max_value=6))
def test_round_to_exponent_returns_its_residue(units: int, exponent: int) -> None:
    rounded, residue = round_to_exponent(units, USD, exponent)
    assert rounded + residue == units
    step = 10 ** (6 - exponent)
    assert rounded % step == 0
    assert 2 * abs(residue) <= step


def test_round_half_to_even_to_cents() -> None:
    assert round_to_exponent(USD.parse("0.005"), USD) == (0, 5_000)
    assert round_to_exponent(USD.parse("0.015"), USD) == (20_000, -5_000)
    assert round_to_exponent(USD.parse("0.0149"), USD) == (10_000, 4_900)


@given(st.integers(0, 10**30), st.integers(1, 10**7), st.data())
def test_share_is_allocates_first_part(units: int, whole: int, data: st.DataObject) -> None:
    part = data.draw(st.integers(0, whole))
    assert share(units, part, whole) == allocate(units, [part, whole - part])[0]


def test_remembered_parses_and_formats_are_the_same_and_keep_refusing() -> None:
    for _ in range(2):  # the second time from the cache
        assert USD.parse("0.0025") == parse_amount("0.0025", USD) == 2_500
        assert USD.format(2_500) == format_amount(2_500, USD) == "0.0025"
        assert USD.parse(1) == 1_000_000
        with pytest.raises(TypeError):
            USD.parse(True)  # type: ignore[arg-type]  # True == 1 and hashes alike: remembered by type too
        with pytest.raises(TypeError):
            USD.format(True)
        with pytest.raises(MoneyError):
            USD.parse("1e-3")


def test_minor_units_come_from_iso_4217_and_currencies_without_them_keep_whole_units() -> None:
    """The table is ISO's (the iso4217 package), not typed here: KRW and JPY have no minor units, so their
    ledgers keep whole won and yen and nothing shows "20.02 KRW"; BHD keeps three places, CLF four."""
    from farthing.domain.money import currencies, currency_of_ledger

    assert len(currencies()) > 150
    for code, exponent, scale, ledger in (("KRW", 0, 0, 410), ("JPY", 0, 0, 392), ("USD", 2, 6, 840),
                                          ("BHD", 3, 6, 48), ("CLF", 4, 6, 990), ("ISK", 0, 0, 352)):  # fmt: skip
        cur = currency(code)
        assert (cur.exponent, cur.scale, cur.ledger) == (exponent, scale, ledger), cur
        assert currency_of_ledger(ledger) is cur
    with pytest.raises(MoneyError):
        KRW.parse("20.02")  # a fraction of a won is refused, never kept
    with pytest.raises(MoneyError):
        currency("XAU")  # gold is not a currency a wallet holds


@given(st.integers(-(10**20), 10**20), st.sampled_from(["USD", "EUR", "KRW", "JPY", "BHD"]))
def test_the_fast_formatter_writes_what_format_writes(units: int, code: str) -> None:
    cur = currency(code)
    assert formatter(cur)(units) == cur.format(units)
