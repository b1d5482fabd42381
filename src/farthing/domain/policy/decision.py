"""What a policy decides and why: outcomes, reasons told in words when read, and the decision itself."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from functools import partial

from farthing.domain.money import Currency
from farthing.domain.quick_init import quick_init

ALLOW, DENY, STEP_UP = "allow", "deny", "step_up"


@quick_init
@dataclass(frozen=True, slots=True)
class Reason:
    rule_id: str
    outcome: str
    """pass, deny, step_up, exempt or info."""
    say: Callable[[], str] = field(compare=False, repr=False)
    """Builds the text when someone reads it: most decisions are never read, so they cost no formatting."""

    @property
    def text(self) -> str:
        return self.say()

    def __repr__(self) -> str:
        return f"Reason({self.rule_id!r}, {self.outcome!r}, {self.text!r})"


class Lazy:
    """Text from a function, built when a reason's text is."""

    __slots__ = ("say",)

    def __init__(self, say: Callable[[], str]) -> None:
        self.say = say

    def __format__(self, spec: str) -> str:
        return self.say()


class Percent:
    __slots__ = ("ppm",)

    def __init__(self, ppm: int) -> None:
        self.ppm = ppm

    def __format__(self, spec: str) -> str:
        return percent(self.ppm)


class Amount:
    """Units of a currency, formatted only when a reason's text is built."""

    __slots__ = ("cur", "units")

    def __init__(self, units: int, cur: Currency) -> None:
        self.units = units
        self.cur = cur

    def __format__(self, spec: str) -> str:
        return self.cur.format(self.units)


def say(template: str, *args: object) -> Callable[[], str]:
    """The text `template.format(*args)`, built on demand from the values as they are now."""
    return partial(template.format, *args)


@quick_init
@dataclass(frozen=True, slots=True)
class TaxLine:
    rule_id: str
    kind: str
    place: str
    rate_ppm: int
    inclusive: bool
    amount: int
    """Exact at the ledger's scale; rounding to the currency happens once, on a period's aggregate."""
    evidence: tuple[str, ...]


def percent(ppm: int) -> str:
    """190_000 -> "19"; 1_300 -> "0.13" (for people; never computed with)."""
    return format((Decimal(ppm) / 10_000).normalize(), "f")


def tell(why: list[Reason] | None, reason: Reason) -> bool:
    """Record `reason` if reasons are being gathered; whether it denies the payment."""
    if why is not None:
        why.append(reason)
    return reason.outcome == "deny"


A = Amount
