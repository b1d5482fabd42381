"""The simulated world's people and figures: a day's metrics, consumers, channels, devices, the result,
and how a scenario changes a policy."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import random
import time
from dataclasses import dataclass, field

import pyotp
from nacl.signing import SigningKey

from farthing.client.device import DeviceKey
from farthing.domain.channels.rules import Accepted, Terms
from farthing.domain.money import currency
from farthing.domain.policy.model import Policy
from farthing.domain.principals import Principal
from farthing.errors import ErrorCode
from farthing.sim.scenario import Scenario, ScenarioError

GOOD_CARD, DECLINED_CARD = "4242424242424242", "4000000000000002"
OPERATOR = Principal("sim", "operator", None, "test", frozenset({"parties:write"}))
REFUSALS = (ErrorCode.policy_denied, ErrorCode.authentication_required, ErrorCode.insufficient_funds)


@dataclass
class Day:
    day: int
    attempts: int = 0
    """Purchase occasions where the consumer wanted to buy (after the mental-cost decision)."""
    declined_by_price: int = 0
    declined_by_budget: int = 0
    """Purchases a consumer wanted but its monthly budget had no room for."""
    walked_away: int = 0
    """Purchase occasions lost: the consumer had given up for the day after a refused payment."""
    payments: int = 0
    value: int = 0
    platform_fees: int = 0
    processing_cost: int = 0
    top_ups: int = 0
    step_ups: int = 0
    abandoned: int = 0
    honest_refused: int = 0
    fraud_attempted: int = 0
    fraud_stopped: int = 0
    fraud_lost: int = 0
    disputes: int = 0
    """Payments disputed by their payers (a stolen account's owner), each lost by the merchant."""
    dispute_lost: int = 0
    """What the platform lost on disputes: the part the merchant's balance could not cover."""
    fraud_paused: int = 0
    """Fraud attempts the top-up velocity guard refused before they reached the card network."""
    ledger_transfers: int = 0
    device_payments: int = 0
    """Payments devices made, under their owners' allowances or with their own keys (in `payments` too)."""
    device_capped: int = 0
    """Device uses refused: past the owner's caps, with nobody there to authenticate."""
    device_waited: int = 0
    """Signed devices' payments the policy stepped up, that waited for their owner's approval (those
    approved are in `device_payments`; each is in `step_ups`, and those not approved in `abandoned`)."""

    def as_row(self, scale: int) -> dict[str, float | int]:
        row: dict[str, float | int] = {}
        for k, v in dataclasses.asdict(self).items():
            row[k] = v / scale if k in MONEY_METRICS else v
        return row


MONEY_METRICS = ("value", "platform_fees", "processing_cost", "fraud_lost", "dispute_lost")
"""A day's figures in ledger units of the scenario's currency; every other one is a count."""
COUNT_METRICS = tuple(f.name for f in dataclasses.fields(Day) if f.name != "day" and f.name not in MONEY_METRICS)


@dataclass
class Consumer:
    principal: Principal
    rng: random.Random
    group: int
    willingness: int
    balance: int = 0
    totp: pyotp.TOTP | None = None
    last_step: int = -1
    month: int = -1
    """The simulated calendar month `spent` is for (months since year 0)."""
    spent: int = 0
    """Spent on items this month, purchases in flight included (for the budget)."""
    away_until_ms: int = 0
    """Gone until then (the end of the day) after giving up on a refused payment."""


@dataclass
class SimChannel:
    id: str
    terms: Terms
    key: SigningKey
    payer: Consumer
    merchant: Principal
    created_ms: int
    paid: int = 0
    sequence: int = 0
    redeemed: int = 0
    mark: Accepted = field(default_factory=lambda: Accepted(0, 0, b""))


@dataclass
class Device:
    rng: random.Random
    owner: Consumer
    service: Principal
    """The merchant it pays."""
    allowance: str
    """The allowance its service charges under (a device that pays with an allowance)."""
    uses_per_day: float
    price: int
    key: DeviceKey | None = None
    """Its own key (a device that pays with signed requests, registered to its owner as `id`)."""
    id: str = ""


@dataclass
class Result:
    scenario: Scenario
    days: list[Day]
    totals: dict[str, float] = field(default_factory=dict)
    hours: list[int] = field(default_factory=lambda: [0] * 24)
    """Payments by hour of the day (simulated clock, midnight first), over the whole run."""


def month_of(ms: int) -> int:
    """The calendar month (UTC) of the simulated instant, as months since year 0."""
    t = time.gmtime(ms // 1000)
    return t.tm_year * 12 + t.tm_mon - 1


def poisson(rng: random.Random, mean: float) -> int:
    if mean <= 0:
        return 0
    if mean > 50:  # normal approximation for large means
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit, k, p = math.exp(-mean), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def changed(policy: Policy, s: Scenario) -> Policy:
    """The pack as the study changes it: limits' maxima, the SCA exemption's threshold, or the exemption removed."""
    cur = currency(policy.currency)
    unknown = set(s.policy.limits) - {limit.id for limit in policy.limits}
    if unknown:
        raise ScenarioError(f"policy.limits.{sorted(unknown)[0]}", f"no such limit in the {policy.id} pack")
    limits = tuple(
        dataclasses.replace(limit, max_units=cur.parse(s.policy.limits[limit.id])) if limit.id in s.policy.limits
        else limit for limit in policy.limits
    )  # fmt: skip
    sca = policy.sca
    tra = policy.tra
    if s.policy.sca_single_max is not None:  # the exemption's threshold moved: every SCA rule's
        single = cur.parse(s.policy.sca_single_max)
        sca = tuple(dataclasses.replace(rule, single_max=single) for rule in sca)
    if not s.policy.tra:
        tra = None
    if not s.policy.sca_exemption:
        sca = tuple(dataclasses.replace(rule, single_max=0, cumulative_max=0, consecutive_max=0) for rule in sca)
        tra = None
    if limits == policy.limits and sca == policy.sca and tra == policy.tra:
        return policy
    change = json.dumps(
        {
            "limits": s.policy.limits,
            "sca_exemption": s.policy.sca_exemption,
            "sca_single_max": s.policy.sca_single_max,
            "tra": s.policy.tra,
        },
        sort_keys=True,
    )
    version = hashlib.sha256(f"{policy.version}\n{change}".encode()).hexdigest()  # decisions tell the two apart
    return dataclasses.replace(policy, version=version, limits=limits, sca=sca, tra=tra)


def totals(days: list[Day], scale: int) -> dict[str, float]:
    """The run's totals and the ratios a reader compares across runs."""
    t: dict[str, float] = {}
    for name in COUNT_METRICS:
        t[name] = float(sum(getattr(d, name) for d in days))
    for name in MONEY_METRICS:
        t[name] = sum(getattr(d, name) for d in days) / scale
    t["merchant_revenue"] = t["value"] - t["platform_fees"]
    t["fee_overhead"] = t["processing_cost"] / t["value"] if t["value"] else 0.0
    t["step_ups_per_100_payments"] = 100 * t["step_ups"] / t["payments"] if t["payments"] else 0.0
    bought = t["payments"] - t["device_payments"]  # a device's uses are not purchases a consumer wanted
    t["conversion"] = bought / t["attempts"] if t["attempts"] else 0.0
    t["ledger_transfers_per_payment"] = t["ledger_transfers"] / t["payments"] if t["payments"] else 0.0
    return t
