"""The policy model: what a policy file may say (pydantic schema), and the compiled form evaluated.

A policy pack is a TOML file. Its sections are rules, each with an `id` and a `source` (the law,
regulation or contract it encodes). Amounts are decimal strings in the pack's currency; rates are
percentages as decimal strings ("19", "6.25"), compiled to parts per million so that no float ever
touches money. Packs compose: `extends = ["platform", "eu"]` takes those packs first, and each later
pack replaces a rule with the same id. A merchant's overrides may tighten a legal rule, never loosen it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from farthing.domain.risk.rules import RiskIn, RiskSettings

_ID = r"^[a-z0-9][a-z0-9_.\-]*$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _decimal(text: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"{text!r} is not a decimal number") from None
    if not value.is_finite() or value < 0:
        raise ValueError(f"{text!r} must be a finite number, zero or more")
    return value


def percent_to_ppm(text: str) -> int:
    """ "19" -> 190_000; "6.25" -> 62_500. More precision than a ppm is refused, never rounded."""
    ppm = _decimal(text) * 10_000
    if ppm != ppm.to_integral_value() or ppm > 1_000_000:
        raise ValueError(f"{text!r}: a percentage from 0 to 100 with at most 4 decimal places")
    return int(ppm)


class PackInfo(_Strict):
    id: str = Field(pattern=_ID)
    title: str = ""
    extends: list[str] = Field(default_factory=list)
    jurisdiction: str | None = Field(default=None, pattern=r"^[A-Z]{2}(-[A-Z0-9]{1,3})?$")
    currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")
    timezone: str | None = None
    merchant_override: bool = Field(default=False, description="a merchant's overrides: may only tighten")


class Condition(_Strict):
    age_band: list[Literal["adult", "minor"]] | None = None
    channel: list[Literal["remote", "contactless", "device"]] | None = None  # CHANNELS
    payer_country: list[str] | None = None


class LimitIn(_Strict):
    id: str = Field(pattern=_ID)
    period: Literal["payment", "day", "month"]
    max: str
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    when: Condition = Condition()
    legal: bool = True
    source: str = Field(min_length=1)

    _max = field_validator("max")(lambda cls, v: str(_decimal(v)))


class ScaIn(_Strict):
    """Low-value exemption from strong customer authentication (PSD2 RTS Art. 16, Art. 11 on devices)."""

    id: str = Field(pattern=_ID)
    single_max: str
    cumulative_max: str
    consecutive_max: int = Field(ge=0, le=1000)
    counters: Literal["both", "amount", "count"] = Field(
        default="both", description="which counter since the last SCA applies (the RTS lets the PSP choose)"
    )
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    when: Condition = Condition()
    legal: bool = True
    source: str = Field(min_length=1)

    _amounts = field_validator("single_max", "cumulative_max")(lambda cls, v: str(_decimal(v)))


class TraBand(_Strict):
    up_to: str
    fraud_rate_max: str = Field(description="the PSP's fraud rate must be at most this percentage")


class TraIn(_Strict):
    """Transaction-risk analysis exemption (PSD2 RTS Art. 18): by the PSP's fraud rate, up to a value."""

    id: str = Field(pattern=_ID)
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    bands: list[TraBand] = Field(min_length=1)
    when: Condition = Condition()
    """Its `channel` scopes it: Art. 18 is for remote transactions, not a terminal's or a device's."""
    legal: bool = True
    source: str = Field(min_length=1)


class FeeIn(_Strict):
    id: str = Field(pattern=_ID)
    fixed: str = "0"
    percent: str = "0"
    min: str = "0"
    max: str | None = None
    currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")
    source: str = Field(min_length=1)


class RateIn(_Strict):
    """One rate of one place from a day on: a change of rate is a new row, never an edit of the old one."""

    place: str = Field(description="a country (DE) or country-region (US-WA)")
    percent: str = Field(description="a percentage, or 'exempt'")
    from_: str = Field(alias="from", pattern=r"^\d{4}-\d{2}-\d{2}$", description="the first day it applies (local)")
    supply: Literal["standard", "ebooks"] = Field(
        default="standard", description="standard: electronically supplied services; ebooks: e-books and e-news"
    )
    source: str = ""


class TaxIn(_Strict):
    id: str = Field(pattern=_ID)
    kind: Literal["vat", "gst", "consumption", "sales"]
    inclusive: bool = Field(description="prices include the tax (EU VAT) or the tax is added (US sales tax)")
    rates: dict[str, str] = Field(
        default_factory=dict, description="by country (or country-region, e.g. US-WA): a percentage or 'exempt'"
    )
    schedule: list[RateIn] = Field(default_factory=list, description="rates with the day each applies from")
    supply: Literal["standard", "ebooks"] = Field(default="standard", description="which rates of the schedule apply")
    evidence_required: int = Field(default=2, ge=1, le=4)
    on_conflict: Literal["billing", "ip", "phone", "instrument", "deny"] = "billing"
    unknown: Literal["deny", "exempt"] = "deny"
    source: str = Field(min_length=1)


class ConsumerIn(_Strict):
    id: str = Field(pattern=_ID)
    refund_window_days: int = Field(ge=0, le=3650)
    withdrawal_days: int = Field(default=0, ge=0, le=365)
    waiver_allowed: bool = False
    period_end: Literal["calendar", "next_working_day"] = Field(
        default="calendar",
        description="next_working_day: a period whose last day is a Saturday, Sunday or public holiday (of the "
        "pack's jurisdiction) ends with the next working day (Reg. 1182/71 Art. 3(4))",
    )
    source: str = Field(min_length=1)


class RetentionIn(_Strict):
    id: str = Field(pattern=_ID)
    ledger_years: int = Field(ge=0, le=30)
    tax_years: int = Field(ge=0, le=30)
    personal_data_days_after_close: int = Field(ge=0, le=36500)
    small_payment_years: int | None = Field(default=None, ge=0, le=30)
    small_payment_max: str | None = None
    currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")
    source: str = Field(min_length=1)


class PolicyFile(_Strict):
    pack: PackInfo
    limits: list[LimitIn] = Field(default_factory=list)
    sca: list[ScaIn] = Field(default_factory=list)
    tra: TraIn | None = None
    fees: list[FeeIn] = Field(default_factory=list)
    tax: TaxIn | None = None
    consumer: ConsumerIn | None = None
    retention: RetentionIn | None = None
    risk: RiskIn | None = None


# -- the compiled form: plain slotted dataclasses, integers only -------------------------------------


@dataclass(frozen=True, slots=True)
class Limit:
    id: str
    period: str
    max_units: int
    currency: str
    age_bands: frozenset[str] | None
    channels: frozenset[str] | None
    payer_countries: frozenset[str] | None
    legal: bool
    source: str


@dataclass(frozen=True, slots=True)
class Sca:
    id: str
    single_max: int
    cumulative_max: int
    consecutive_max: int
    counters: str
    currency: str
    channels: frozenset[str] | None
    legal: bool
    source: str


@dataclass(frozen=True, slots=True)
class Tra:
    id: str
    currency: str
    bands: tuple[tuple[int, int], ...]
    """(value up to, in units; fraud rate max, in ppm), lowest value first."""
    source: str
    channels: frozenset[str] | None = None
    """The channels it exempts (None: every one)."""


@dataclass(frozen=True, slots=True)
class Fee:
    id: str
    fixed: int
    ppm: int
    min: int
    max: int | None
    source: str


@dataclass(frozen=True, slots=True)
class Tax:
    id: str
    kind: str
    inclusive: bool
    rates_ppm: dict[str, int | None]
    """None: not taxed there."""
    evidence_required: int
    on_conflict: str
    unknown: str
    source: str
    schedule: dict[str, tuple[tuple[int, int | None], ...]] = field(default_factory=dict)
    """By place: (the first day it applies, as days since 1970-01-01 in the policy's calendar; the rate in
    ppm or None), oldest first. A place here is taxed at the row in force on the payment's day."""


@dataclass(frozen=True, slots=True)
class Consumer:
    id: str
    refund_window_days: int
    withdrawal_days: int
    waiver_allowed: bool
    source: str
    period_end: str = "calendar"
    """calendar, or next_working_day (`farthing.domain.policy.deadlines`)."""


@dataclass(frozen=True, slots=True)
class Retention:
    id: str
    ledger_years: int
    tax_years: int
    personal_data_days_after_close: int
    small_payment_years: int | None
    small_payment_max: int | None
    source: str


@dataclass(frozen=True, slots=True)
class Policy:
    """A composed policy, ready to evaluate. `version` is a SHA-256 of its sources' canonical content."""

    id: str
    version: str
    packs: tuple[str, ...]
    currency: str
    timezone: str
    jurisdiction: str | None
    limits: tuple[Limit, ...] = ()
    sca: tuple[Sca, ...] = ()
    tra: Tra | None = None
    fees: tuple[Fee, ...] = ()
    tax: Tax | None = None
    consumer: Consumer | None = None
    retention: Retention | None = None
    risk: RiskSettings | None = None
    rule_sources: dict[str, str] = field(default_factory=dict)
    sca_by_channel: dict[str, tuple[Sca, ...]] = field(init=False, compare=False, repr=False)
    """The SCA rules that apply on each channel, worked out once."""
    counters: tuple[str, ...] = field(init=False, compare=False, repr=False)
    """The payer's counters the policy reads, worked out once: "day" and "month" for its limits'
    periods, "sca_amount" and "sca_count" (since the last strong authentication) for its SCA rules."""
    memo: dict[object, object] = field(init=False, compare=False, repr=False)
    """What evaluation remembers for this policy (e.g. the place of supply of each kind of evidence);
    a changed copy (`dataclasses.replace`) starts with none."""

    def __post_init__(self) -> None:
        by_channel = {ch: tuple(r for r in self.sca if r.channels is None or ch in r.channels) for ch in CHANNELS}
        object.__setattr__(self, "sca_by_channel", by_channel)
        periods = {limit.period for limit in self.limits}
        sca = ("sca_amount", "sca_count") if self.sca else ()
        counters = tuple(p for p in ("day", "month") if p in periods) + sca
        object.__setattr__(self, "counters", counters)
        object.__setattr__(self, "memo", {})


CHANNELS = ("remote", "contactless", "device")
