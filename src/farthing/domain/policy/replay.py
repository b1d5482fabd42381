"""Replay recorded payments under another policy: how many would it deny or step up, and how would
revenue, fees and taxes move? Pure: the caller feeds the payments in the order they were made.

The replay keeps each payer's counters as the new policy would have: a denied payment does not count;
a stepped-up one counts as made after a strong authentication (the payer's counters since SCA start
again), the friction it cost being the step-up itself. Payments in another currency than the policy's
are passed over and counted as such.
"""

from __future__ import annotations

import dataclasses
from collections import Counter as Tally
from dataclasses import dataclass, field

from farthing.domain.policy.decision import ALLOW, DENY, STEP_UP
from farthing.domain.policy.evaluate import Context, Counters, Evidence, evaluate
from farthing.domain.policy.model import Policy


@dataclass(frozen=True, slots=True)
class Recorded:
    """A payment as the ledger recorded it, with what is known of its payer."""

    payer: str
    amount: int
    currency: str
    at_ms: int
    fee: int = 0
    """The fee it paid then."""
    country: str | None = None
    age_band: str = "adult"
    evidence: Evidence | None = None


@dataclass
class ReplayReport:
    policy: str
    policy_version: str
    payments: int = 0
    other_currency: int = 0
    value: int = 0
    allowed: int = 0
    denied: int = 0
    stepped_up: int = 0
    allowed_value: int = 0
    """Value of the payments made, stepped-up ones included."""
    denied_value: int = 0
    fees_then: int = 0
    fees_now: int = 0
    taxes_now: int = 0
    by_rule: Tally[str] = field(default_factory=Tally)
    """How often each rule denied or stepped up a payment."""


class Replay:
    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self.report = ReplayReport(policy.id, policy.version)
        self._counters: dict[str, Counters] = {}

    def feed(self, p: Recorded) -> str | None:
        """Decide one recorded payment under the policy; its outcome (None: another currency)."""
        r = self.report
        if p.currency != self.policy.currency:
            r.other_currency += 1
            return None
        r.payments += 1
        r.value += p.amount
        r.fees_then += p.fee
        evidence = p.evidence or Evidence(billing=p.country)
        counters = self._counters.get(p.payer, _ZERO)
        ctx = Context(p.amount, p.currency, p.at_ms, age_band=p.age_band, payer_country=p.country,
                      counters=counters, evidence=evidence)  # fmt: skip
        d = evaluate(self.policy, ctx)
        for rule_id in d.refused_by:
            r.by_rule[rule_id] += 1
        if d.outcome == DENY:
            r.denied += 1
            r.denied_value += p.amount
            return DENY
        outcome = ALLOW
        if d.outcome != ALLOW:  # stepped up: made after a strong authentication
            outcome = STEP_UP
            r.stepped_up += 1
            d = evaluate(self.policy, _authenticated(ctx))
            if d.outcome != ALLOW:
                r.denied += 1
                r.denied_value += p.amount
                return DENY
        else:
            r.allowed += 1
        r.allowed_value += p.amount
        r.fees_now += d.fee
        r.taxes_now += d.tax.amount if d.tax is not None else 0
        assert d.counters_after is not None
        self._counters[p.payer] = d.counters_after
        return outcome


_ZERO = Counters()


def _authenticated(ctx: Context) -> Context:
    return dataclasses.replace(ctx, authenticated=True)
