"""Exact money: an integer count of ledger units plus its currency.

What this module keeps true:
- An amount is a Python `int` of minor units at the currency's ledger scale (default 6 decimal places
  of the major unit: one unit of a USD ledger is $0.000001). No float ever enters: a float is a
  `TypeError`, and a decimal string with more places than the scale is refused, never rounded.
- Precision belongs to the currency, never to the value.
- Rounding happens only where asked (`round_to_exponent`), and always hands back its residue; an
  allocation into parts hands out every unit (largest remainder), so nothing is created or lost.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

import iso4217

from farthing import limits
from farthing.errors import ErrorCode, FarthingError


class MoneyError(FarthingError, ValueError):
    """An amount or currency that cannot be used as given."""


class AmountFloatError(FarthingError, TypeError):
    """A float was offered where money was expected: binary floats cannot hold most decimal amounts."""


@dataclass(frozen=True, slots=True)
class Currency:
    """A currency and its ledger: ISO 4217 code and exponent, the ledger number and its scale."""

    code: str
    exponent: int
    """ISO 4217 minor-unit exponent: 2 for USD cents, 0 for KRW and JPY."""
    ledger: int
    """The ledger that holds this currency's accounts (by default its ISO 4217 numeric code)."""
    scale: int = limits.ledger_scale_default
    """Decimal places the ledger keeps below the major unit; never fewer than the exponent."""

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[A-Z]{3}", self.code):
            raise MoneyError(ErrorCode.currency_unknown, f"currency code must be 3 capital letters: {self.code!r}")
        if not 0 <= self.exponent <= self.scale <= limits.ledger_scale_max:
            raise MoneyError(
                ErrorCode.currency_unknown,
                f"{self.code}: need 0 <= exponent ({self.exponent}) <= scale ({self.scale}) "
                f"<= {limits.ledger_scale_max}",
            )
        if not 0 < self.ledger <= limits.ledger_max:
            raise MoneyError(ErrorCode.currency_unknown, f"{self.code}: ledger must be in 1..{limits.ledger_max}")

    @property
    def units_per_major(self) -> int:
        return int(10**self.scale)

    def parse(self, text: str | Decimal | int) -> int:
        """Exact ledger units of a decimal amount in major units, e.g. USD.parse("0.0025") == 2500."""
        return _parse_remembered(text, self)

    def format(self, units: int) -> str:
        """The decimal string of `units`, with at least the ISO exponent's places: 2500 -> "0.0025"."""
        return _format_remembered(units, self)


def ledger_scale(exponent: int) -> int:
    """The places a ledger keeps for a currency with this ISO 4217 exponent: six (a millionth of a dollar
    or a euro, for payments far below a cent) for currencies with minor units, none for those without
    (KRW, JPY: ₩1 and ¥1 are already micropayment-sized, and no fraction of them is payable)."""
    return 0 if exponent == 0 else max(exponent, limits.ledger_scale_default)


def _iso_table() -> dict[str, Currency]:
    """Every ISO 4217 currency with minor units, from the `iso4217` package (ISO's own published list,
    maintained upstream: not typed here); the ledger number is the ISO numeric code. Codes without an
    exponent (gold, SDRs, the testing code) are not money a wallet holds."""
    table = {}
    for iso in iso4217.Currency:
        if iso.exponent is None or iso.number is None or iso.exponent > limits.ledger_scale_default:
            continue
        table[iso.code] = Currency(iso.code, iso.exponent, iso.number, ledger_scale(iso.exponent))
    return table


_CURRENCIES = _iso_table()
_BY_LEDGER = {c.ledger: c for c in _CURRENCIES.values()}


def currency(code: str) -> Currency:
    """The currency for an ISO 4217 code; unknown codes are an error, never a guess."""
    if not isinstance(code, str):
        raise TypeError(f"currency code must be a str, not {type(code).__name__}")
    found = _CURRENCIES.get(code.upper())
    if found is None:
        raise MoneyError(
            ErrorCode.currency_unknown, f"unknown currency {code!r}: not an ISO 4217 code with minor units"
        )
    return found


def currency_of_ledger(ledger: int) -> Currency:
    """The currency a ledger number holds (its ISO 4217 numeric code)."""
    found = _BY_LEDGER.get(ledger)
    if found is None:
        raise MoneyError(ErrorCode.currency_unknown, f"no currency keeps ledger {ledger}")
    return found


def currencies() -> tuple[Currency, ...]:
    return tuple(_CURRENCIES.values())


_DECIMAL_RE = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?")


def parse_amount(text: str | Decimal | int, cur: Currency) -> int:
    """Ledger units of a decimal amount; refuses floats, exponents, and places beyond the scale."""
    if isinstance(text, float):
        raise AmountFloatError(
            ErrorCode.amount_float_not_allowed, f"amount must be a decimal string, not float {text!r}"
        )
    if isinstance(text, bool):
        raise TypeError(f"amount must be a decimal string, not bool {text!r}")
    if isinstance(text, int):
        return text * cur.units_per_major
    if isinstance(text, Decimal):
        if not text.is_finite():
            raise MoneyError(ErrorCode.amount_invalid, f"amount must be finite, not {text}")
        text = format(text, "f")
    if not isinstance(text, str):
        raise TypeError(f"amount must be a decimal string, not {type(text).__name__}")
    if not _DECIMAL_RE.fullmatch(text):
        raise MoneyError(
            ErrorCode.amount_invalid,
            f"amount must be a plain decimal string such as '0.0025', not {text!r}",
        )
    negative = text.startswith("-")
    whole, _, frac = text.lstrip("-").partition(".")
    frac = frac.rstrip("0")
    if len(frac) > cur.scale:
        raise MoneyError(
            ErrorCode.amount_too_precise,
            f"{text!r} has {len(frac)} decimal places; the {cur.code} ledger keeps {cur.scale}",
        )
    try:
        units = int(whole) * cur.units_per_major + int(frac.ljust(cur.scale, "0") or "0")
    except InvalidOperation as exc:  # pragma: no cover - the regex admits only digits
        raise MoneyError(ErrorCode.amount_invalid, str(exc)) from exc
    return -units if negative else units


def format_amount(units: int, cur: Currency) -> str:
    """Decimal string of ledger units, trailing zeros trimmed down to the ISO exponent."""
    if not isinstance(units, int) or isinstance(units, bool):
        raise TypeError(f"units must be an int, not {type(units).__name__}")
    sign = "-" if units < 0 else ""
    whole, frac = divmod(abs(units), cur.units_per_major)
    if cur.scale == 0:
        return f"{sign}{whole}"
    digits = str(frac).rjust(cur.scale, "0").rstrip("0").ljust(cur.exponent, "0")
    return f"{sign}{whole}.{digits}" if digits else f"{sign}{whole}"


def formatter(cur: Currency) -> Callable[[int], str]:
    """`format_amount` for one currency, without the checks and the cache: for a statement's million lines,
    whose balances rarely repeat (the caller passes ints)."""
    per, scale, exponent = cur.units_per_major, cur.scale, cur.exponent
    if scale == 0:
        return str

    def fmt(units: int) -> str:
        whole, frac = divmod(-units if units < 0 else units, per)
        digits = str(frac).rjust(scale, "0").rstrip("0").ljust(exponent, "0")
        text = f"{whole}.{digits}" if digits else str(whole)
        return "-" + text if units < 0 else text

    return fmt


# Micropayments repeat a few prices: every payment parses its amount and formats it and its fee.
# Remembered by value and type (True is not 1 here), refusals never (an exception is not cached).
_parse_remembered = functools.lru_cache(maxsize=4096, typed=True)(parse_amount)
_format_remembered = functools.lru_cache(maxsize=4096, typed=True)(format_amount)


@dataclass(frozen=True, slots=True)
class Money:
    """An exact amount: integer ledger units of one currency. Arithmetic across currencies is an error."""

    units: int
    currency: Currency

    def __post_init__(self) -> None:
        if isinstance(self.units, float):
            raise AmountFloatError(ErrorCode.amount_float_not_allowed, f"units must be an int, not float {self.units}")
        if not isinstance(self.units, int) or isinstance(self.units, bool):
            raise TypeError(f"units must be an int, not {type(self.units).__name__}")
        if not isinstance(self.currency, Currency):
            raise TypeError(f"currency must be a Currency, not {type(self.currency).__name__}")

    @classmethod
    def parse(cls, text: str | Decimal | int, code: str) -> Money:
        cur = currency(code)
        return cls(parse_amount(text, cur), cur)

    def _same(self, other: Money) -> None:
        if not isinstance(other, Money):
            raise TypeError(f"cannot combine Money with {type(other).__name__}")
        if other.currency != self.currency:
            raise MoneyError(
                ErrorCode.currency_mismatch,
                f"cannot combine {self.currency.code} with {other.currency.code} without an explicit rate",
            )

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.units + other.units, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.units - other.units, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.units, self.currency)

    def __str__(self) -> str:
        return f"{format_amount(self.units, self.currency)} {self.currency.code}"


def allocate(units: int, ratios: Sequence[int]) -> list[int]:
    """Split `units` into parts proportional to integer `ratios`, handing out every unit.

    Largest remainder: each part gets the floor of its share, then the units left over go one each
    to the parts with the largest remainders (ties to the earlier part). sum(result) == units always.
    """
    if not isinstance(units, int) or isinstance(units, bool):
        raise TypeError(f"units must be an int, not {type(units).__name__}")
    if not ratios:
        raise ValueError("allocate needs at least one ratio")
    for r in ratios:
        if not isinstance(r, int) or isinstance(r, bool):
            raise TypeError(f"ratios must be ints, not {type(r).__name__}")
        if r < 0:
            raise ValueError(f"ratios must not be negative: {r}")
    total = sum(ratios)
    if total == 0:
        raise ValueError("ratios must not all be zero")
    sign = -1 if units < 0 else 1
    magnitude = abs(units)
    shares = [divmod(magnitude * r, total) for r in ratios]
    parts = [q for q, _ in shares]
    left = magnitude - sum(parts)
    by_remainder = sorted(range(len(ratios)), key=lambda i: (-shares[i][1], i))
    for i in by_remainder[:left]:
        parts[i] += 1
    return [sign * p for p in parts]


def share(units: int, part: int, whole: int) -> int:
    """The first part of `allocate(units, [part, whole - part])`, for non-negative `units`, without the
    lists: a fee or a tax rate's share of an amount (2 % of 1,000 units: `share(1000, 20_000, 1_000_000)`)."""
    if not 0 <= part <= whole or whole <= 0 or units < 0:
        raise ValueError(f"share needs 0 <= part <= whole, whole > 0 and units >= 0 (got {part}, {whole}, {units})")
    q1, r1 = divmod(units * part, whole)
    q2, r2 = divmod(units * (whole - part), whole)
    # One unit may be left over; it goes to the larger remainder, the first part on a tie.
    return q1 + 1 if units - q1 - q2 and r1 >= r2 else q1


def round_to_exponent(units: int, cur: Currency, exponent: int | None = None) -> tuple[int, int]:
    """Round ledger units to `exponent` decimal places (default: the ISO exponent), half to even.

    Returns (rounded, residue) with rounded + residue == units, so the caller can book the residue
    to an explicit rounding account instead of dropping it.
    """
    exp = cur.exponent if exponent is None else exponent
    if not 0 <= exp <= cur.scale:
        raise ValueError(f"exponent must be in 0..{cur.scale}, not {exp}")
    step = 10 ** (cur.scale - exp)
    quotient, remainder = divmod(units, step)
    twice = 2 * remainder
    if twice > step or (twice == step and quotient % 2 == 1):
        quotient += 1
    rounded = quotient * step
    return rounded, units - rounded
