"""Amounts as requests carry them, parsed where they come in: decimal strings only, more than zero, at
most the platform's largest amount, no finer than the currency's ledger keeps."""

from __future__ import annotations

import pytest

from farthing import limits
from farthing.domain.money import Money, currency
from farthing.errors import ErrorCode, PlatformError
from farthing.services.amounts import positive_money


def test_a_decimal_string_becomes_exact_units_of_its_currency() -> None:
    assert positive_money("0.000001", "USD") == Money(1, currency("USD"))
    assert positive_money("1500", "KRW") == Money(1500, currency("KRW"))  # whole won: scale 0


@pytest.mark.parametrize(
    ("amount", "code", "expected"),
    [
        (0.1, "USD", ErrorCode.amount_float_not_allowed),
        (1, "USD", ErrorCode.amount_float_not_allowed),  # a JSON number, even a whole one
        ("0", "USD", ErrorCode.amount_invalid),
        ("-0.01", "USD", ErrorCode.amount_invalid),
        ("1e3", "USD", ErrorCode.amount_invalid),
        ("0.0000001", "USD", ErrorCode.amount_too_precise),
        ("0.5", "KRW", ErrorCode.amount_too_precise),
        ("1.00", "XYZ", ErrorCode.currency_unknown),
    ],
)
def test_what_is_not_a_positive_decimal_string_is_refused(amount: object, code: str, expected: ErrorCode) -> None:
    with pytest.raises(PlatformError) as refused:
        positive_money(amount, code)
    assert refused.value.code is expected


def test_more_than_the_largest_amount_is_refused() -> None:
    usd = currency("USD")
    assert positive_money(usd.format(limits.amount_max), "USD").units == limits.amount_max
    with pytest.raises(PlatformError) as large:
        positive_money(usd.format(limits.amount_max + 1), "USD")
    assert large.value.code is ErrorCode.amount_invalid
