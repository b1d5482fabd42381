"""Scenarios: TOML files, validated before anything runs (unknown keys, negative rates and impossible
populations are refused with the key's path and the reason).

    [scenario]            name, seed, days, currency, policies (packs), description
    [payments]            top_up (the size of each card top-up), top_up_when_below, top_up_guard, path = "ledger" |
                          "channel" (vouchers on a channel per consumer and merchant, redeemed daily),
                          channel_deposit
    [[consumers]]         count, arrivals_per_day, hourly_profile (24 weights), willingness_to_pay, mental_cost,
                          budget_per_month, abandon_on_challenge, abandon_on_refusal, has_second_factor, country
    [[merchants]]         count, price, country
    [[devices]]           count, uses_per_day, price, per_day, total, pays = "allowance" | "signed": devices
                          that pay a device service per use out of their owner's wallet, within the
                          allowance the owner granted, or with their own keys within the caps it set
    [[fraudsters]]        count, kind = "card_testing" | "account_takeover" | "refund_collusion",
                          attempts_per_day, test_amount, stolen_card_share, takeover_amount, burst_hours
    [policy]              limits = {rule id = maximum}, sca_exemption = true | false, sca_single_max,
                          tra = true | false (the exemption by transaction-risk analysis, which reads the
                          platform's fraud rate as the history shows it, folded each simulated hour)

Amounts are decimal strings in the scenario's currency; rates and shares are floats (they are not
money). Every figure may carry its source in a `sources` table beside it.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from farthing.domain.money import currency
from farthing.errors import ErrorCode, FarthingError


class ScenarioError(FarthingError):
    def __init__(self, where: str, detail: str) -> None:
        super().__init__(ErrorCode.validation_failed, f"{where}: {detail}")
        self.where = where


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ScenarioInfo(_Strict):
    name: str = Field(min_length=1, max_length=80, pattern=r"^[a-z0-9][a-z0-9-]*$")
    seed: int = Field(ge=0)
    days: int = Field(ge=1, le=3650)
    currency: str = "USD"
    policies: list[str] = Field(default_factory=list)
    description: str = ""

    @field_validator("currency")
    @classmethod
    def _known(cls, code: str) -> str:
        currency(code)
        return code


class Payments(_Strict):
    path: Literal["ledger", "channel"] = Field(
        default="ledger", description="ledger: a transfer per payment; channel: vouchers, redeemed daily"
    )
    channel_deposit: str = Field(default="1.00", description="channel path: each channel's deposit")
    top_up: str = Field(description="each card top-up, e.g. 5.00")
    top_up_when_below: str = Field(default="0.10", description="top up when the wallet holds less")
    top_up_guard: bool = Field(
        default=True,
        description="the platform's top-up velocity guard (3 declines within an hour pause a customer's top-ups "
        "for a day); false: an unguarded top-up flow",
    )


class Consumers(_Strict):
    count: int = Field(ge=0, le=1_000_000)
    arrivals_per_day: float = Field(ge=0, le=10_000, description="purchase occasions a day (Poisson mean)")
    willingness_to_pay: str = Field(description="the median most a consumer pays for one item")
    mental_cost: str = Field(default="0", description="the cost of deciding to pay at all (Szabo)")
    abandon_on_challenge: float = Field(default=0.25, ge=0, le=1)
    abandon_on_refusal: float = Field(
        default=0.0, ge=0, le=1, description="the chance a consumer whose payment is refused gives up for the day"
    )
    budget_per_month: str | None = Field(
        default=None, description="the most a consumer spends on items in a calendar month (none: no budget)"
    )
    hourly_profile: list[float] | None = Field(
        default=None,
        min_length=24,
        max_length=24,
        description="24 weights, midnight first: how the day's arrivals spread over its hours (none: evenly)",
    )
    has_second_factor: float = Field(default=1.0, ge=0, le=1, description="share enrolled (TOTP)")
    country: str | None = Field(default=None, pattern=r"^[A-Z]{2}$", description="billing and IP country")

    @field_validator("hourly_profile")
    @classmethod
    def _weights(cls, weights: list[float] | None) -> list[float] | None:
        if weights is not None and (any(w < 0 for w in weights) or not sum(weights) > 0):
            raise ValueError("weights are zero or more, and not all zero")
        return weights

    def hourly_means(self) -> list[float]:
        """The mean number of arrivals in each hour of the day (Poisson), the day's spread by the profile."""
        if self.hourly_profile is None:
            return [self.arrivals_per_day / 24] * 24
        total = sum(self.hourly_profile)
        return [self.arrivals_per_day * w / total for w in self.hourly_profile]


class Merchants(_Strict):
    count: int = Field(ge=1, le=100_000)
    price: str
    country: str | None = Field(default=None, pattern=r"^[A-Z]{2}$")


class Devices(_Strict):
    """Devices (a meter, a charger, a sensor) that pay a device service per use out of their owner's
    wallet; owners are the consumers, in turn. With `pays = "allowance"`, under a one-click allowance the
    owner granted (at most `per_day` a day and `total` in all): a use past it would wait for the owner's
    strong authentication, which an unattended device cannot give, and is refused (`device_capped`).
    With `pays = "signed"`, the device is registered to its owner with its own key and caps (`price` a
    payment, `per_day` a day, `total` a month) and pays with signed requests, through the MQTT gateway
    when the lab runs with a broker (`farthing.sim.devices`)."""

    count: int = Field(ge=0, le=100_000)
    uses_per_day: float = Field(ge=0, le=10_000, description="uses a day (Poisson mean)")
    price: str = Field(description="what each use costs")
    per_day: str = Field(description="the owner's cap a day")
    total: str = Field(description="the owner's cap in all (an allowance's) or a month (a signed device's)")
    pays: Literal["allowance", "signed"] = "allowance"


class Fraudsters(_Strict):
    count: int = Field(ge=0, le=100_000)
    kind: Literal["card_testing", "account_takeover", "refund_collusion"] = "card_testing"
    attempts_per_day: float = Field(ge=0, le=100_000)
    test_amount: str = Field(default="0.50", description="card testing: each stolen card's trial top-up")
    stolen_card_share: float = Field(default=0.1, ge=0, le=1, description="cards that work; the rest decline")
    takeover_amount: str = Field(default="1.00", description="account takeover: each payment out of a victim")
    disputed_share: float = Field(
        default=0.0, ge=0, le=1, description="account takeover: thefts the victim disputes (the next day), all lost"
    )
    cash_out: bool = Field(
        default=False, description="account takeover: the colluding merchant pays its balance out every night"
    )
    burst_hours: int = Field(
        default=24, ge=1, le=24, description="card testing: a day's attempts come within this many hours in a row"
    )


class PolicyChanges(_Strict):
    """Changes to the scenario's packs, for studies: a limit's maximum, the SCA exemptions on or off."""

    limits: dict[str, str] = Field(default_factory=dict, description="rule id -> maximum (decimal string)")
    sca_exemption: bool = Field(default=True, description="false: every payment needs strong authentication")
    sca_single_max: str | None = Field(
        default=None, description="the low-value exemption's most per payment, for every SCA rule of the packs"
    )
    tra: bool = Field(
        default=True, description="false: no exemption by transaction-risk analysis (a PSP may not use it)"
    )


class Scenario(_Strict):
    scenario: ScenarioInfo
    payments: Payments
    consumers: list[Consumers] = Field(min_length=1)
    merchants: list[Merchants] = Field(min_length=1)
    devices: list[Devices] = Field(default_factory=list)
    fraudsters: list[Fraudsters] = Field(default_factory=list)
    policy: PolicyChanges = Field(default_factory=PolicyChanges)
    sources: dict[str, str] = Field(default_factory=dict, description="figure -> where it comes from")

    @model_validator(mode="after")
    def _amounts(self) -> Scenario:
        cur = currency(self.scenario.currency)
        checks: list[tuple[str, str, bool]] = [
            ("payments.top_up", self.payments.top_up, False),
            ("payments.channel_deposit", self.payments.channel_deposit, False),
            ("payments.top_up_when_below", self.payments.top_up_when_below, True),
        ]
        for i, c in enumerate(self.consumers):
            checks += [(f"consumers[{i}].willingness_to_pay", c.willingness_to_pay, True),
                       (f"consumers[{i}].mental_cost", c.mental_cost, True)]  # fmt: skip
            if c.budget_per_month is not None:
                checks.append((f"consumers[{i}].budget_per_month", c.budget_per_month, True))
        for i, m in enumerate(self.merchants):
            checks.append((f"merchants[{i}].price", m.price, True))
        for i, d in enumerate(self.devices):
            checks += [(f"devices[{i}].price", d.price, False), (f"devices[{i}].per_day", d.per_day, False),
                       (f"devices[{i}].total", d.total, False)]  # fmt: skip
        for i, f in enumerate(self.fraudsters):  # the amounts each kind uses (their defaults are in dollars)
            if f.kind == "account_takeover":
                checks.append((f"fraudsters[{i}].takeover_amount", f.takeover_amount, False))
            else:
                checks.append((f"fraudsters[{i}].test_amount", f.test_amount, False))
        for rule, text in self.policy.limits.items():
            checks.append((f"policy.limits.{rule}", text, True))
        if self.policy.sca_single_max is not None:
            checks.append(("policy.sca_single_max", self.policy.sca_single_max, True))
        for where, text, zero_ok in checks:
            try:
                units = cur.parse(text)
            except FarthingError as exc:
                raise ValueError(f"{where}: {exc.detail}") from None
            if units < 0 or (units == 0 and not zero_ok):
                raise ValueError(f"{where}: must be {'at least' if zero_ok else 'more than'} zero")
        if cur.parse(self.payments.top_up) % 10 ** (cur.scale - cur.exponent):
            raise ValueError(f"payments.top_up: a card is charged in whole {cur.code} minor units")
        if sum(c.count for c in self.consumers) == 0:
            raise ValueError("consumers: a world needs at least one consumer")
        for i, d in enumerate(self.devices):
            if not cur.parse(d.price) <= cur.parse(d.per_day) <= cur.parse(d.total):
                raise ValueError(f"devices[{i}]: need price <= per_day <= total (the owner's caps)")
        return self


def parse(text: str, where: str = "scenario") -> Scenario:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(where, f"not TOML: {exc}") from None
    return validate(data, where)


def validate(data: dict[str, Any], where: str = "scenario") -> Scenario:
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        path = ".".join(str(p) if isinstance(p, str) else f"[{p}]" for p in first["loc"]).replace(".[", "[")
        message = str(first["msg"]).removeprefix("Value error, ")
        raise ScenarioError(f"{where}: {path or 'scenario'}", message) from None


def load(path: str | Path) -> Scenario:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ScenarioError(str(p), f"cannot read: {exc.strerror}") from None
    return parse(text, str(p))


def with_values(s: Scenario, changes: dict[str, str]) -> Scenario:
    """The scenario with dotted keys replaced (`payments.top_up=20.00`, `consumers[0].mental_cost=0`)."""
    data = s.model_dump()
    for key, value in changes.items():
        node: Any = data
        parts = key.replace("]", "").replace("[", ".").split(".")
        try:
            i = 0
            while i < len(parts) - 1:
                part = parts[i]
                if isinstance(node, list):
                    node = node[int(part)]
                elif part in node and isinstance(node[part], dict | list):
                    node = node[part]
                else:
                    break
                i += 1
            last = ".".join(parts[i:]) if isinstance(node, dict) else parts[i]
            old = node[int(last)] if isinstance(node, list) else node.get(last)
            if isinstance(node, dict) and last not in node and not (parts[i - 1 : i] == ["limits"]):
                raise KeyError(last)
        except (KeyError, IndexError, TypeError, AttributeError, ValueError):
            raise ScenarioError(key, "no such key to vary") from None
        new: Any = value
        if isinstance(old, bool):
            new = value.lower() in ("1", "true", "yes")
        elif isinstance(old, int | float):
            try:
                new = type(old)(value)
            except ValueError:
                raise ScenarioError(key, f"{value!r} is not a number") from None
        if isinstance(node, list):
            node[int(last)] = new
        else:
            node[last] = new
    return validate(data, "varied scenario")
