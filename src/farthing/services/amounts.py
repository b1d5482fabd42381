"""Amounts as requests carry them: decimal strings, parsed into exact units of a currency where the request
comes in (the API, the simulator, a CLI). Only an amount whose currency the request does not name (a
refund's, a capture's, an allowance charge's) is parsed by its service, once it found the currency.
Whatever is refused here is a `PlatformError`, so a caller has one kind of refusal to answer."""

from __future__ import annotations

from farthing import limits
from farthing.domain.money import Currency, Money, currency
from farthing.errors import ErrorCode, FarthingError, PlatformError


def positive_units(cur: Currency, amount: object) -> int:
    """`amount` (a decimal string) in units of `cur`: more than zero and at most `limits.amount_max`."""
    if not isinstance(amount, str):  # a JSON number is a binary float in most clients: never money
        raise PlatformError(
            ErrorCode.amount_float_not_allowed,
            f'amounts are decimal strings such as "0.001", never JSON numbers (got {amount!r})',
        )
    try:
        units = cur.parse(amount)
    except FarthingError as exc:  # malformed, too precise: the money rules' refusal, as a request's
        raise PlatformError(exc.code, exc.detail) from None
    if not 0 < units <= limits.amount_max:
        raise PlatformError(
            ErrorCode.amount_invalid, f"the amount must be more than zero and at most {cur.format(limits.amount_max)}"
        )
    return units


def positive_money(amount: object, currency_code: str) -> Money:
    """`amount` (a decimal string) of the currency named `currency_code`, checked as `positive_units` does."""
    try:
        cur = currency(currency_code)
    except FarthingError as exc:
        raise PlatformError(exc.code, exc.detail) from None
    return Money(positive_units(cur, amount), cur)
