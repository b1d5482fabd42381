"""Evaluate a payment against a composed policy: allow, deny or step up, with fees, tax and reasons.

Pure and deterministic: everything comes in through the `Context` (the payer's counters, the evidence
of where the payer is, the clock value), and the `Decision` says what every rule concluded, in words a
person can read, with the policy version it was made under. Deny outranks step-up, step-up outranks
allow; every rule is still evaluated, so the reasons are complete.

Counters are the payer's spend in its local day and month (in the policy's time zone) and the count
and amount since its last strong authentication. A counter kept for another day or month than the
payment's counts as zero: the first payment after midnight in Seoul starts a new Korean month even
while it is still the old month in UTC.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from farthing.domain.money import Currency, currency, share
from farthing.domain.policy.calendar import day_and_month, local_days
from farthing.domain.policy.calendar import local_day_and_month as local_day_and_month  # re-exported
from farthing.domain.policy.decision import ALLOW, DENY, STEP_UP, A, Lazy, Reason, TaxLine, say
from farthing.domain.policy.decision import percent as percent  # re-exported
from farthing.domain.policy.inputs import Context as Context  # the inputs, decided from here: re-exported
from farthing.domain.policy.inputs import Counters as Counters
from farthing.domain.policy.inputs import Evidence as Evidence
from farthing.domain.policy.model import Limit, Policy, Sca
from farthing.domain.policy.tax import tax_line
from farthing.domain.policy.windows import refund_allowed as refund_allowed  # re-exported
from farthing.domain.policy.windows import withdrawal_allowed as withdrawal_allowed
from farthing.domain.quick_init import quick_init

_RANK = {ALLOW: 0, STEP_UP: 1, DENY: 2}


@quick_init
@dataclass(frozen=True, slots=True)
class Decision:
    outcome: str
    policy_version: str
    fee: int = 0
    fees: tuple[tuple[str, int], ...] = ()
    tax: TaxLine | None = None
    sca_exemption: str | None = None
    """The rule that exempted the payment from strong authentication, if one did."""
    counters_after: Counters | None = None
    """The payer's counters once this payment is made (None when it is not allowed)."""
    consumed: tuple[str, ...] = field(default=())
    """The limits this payment counts against."""
    refused_by: tuple[str, ...] = field(default=())
    """The rules that denied the payment or asked for strong authentication (the reasons tell why)."""
    source: tuple[Policy, Context] | None = field(default=None, compare=False, repr=False)
    """What was decided, kept so that the reasons can be told when someone asks."""
    _reasons: tuple[Reason, ...] | None = field(default=None, compare=False, repr=False)

    @property
    def reasons(self) -> tuple[Reason, ...]:
        """What every rule concluded. Most decisions are never explained, so the reasons are gathered
        on first reading, by deciding again with the same policy and context (evaluation is pure)."""
        if self._reasons is None:
            assert self.source is not None
            object.__setattr__(self, "_reasons", evaluate(*self.source, explain=True)._reasons)
        assert self._reasons is not None
        return self._reasons

    def explain(self) -> str:
        lines = [f"{self.outcome.upper()} (policy {self.policy_version[:12]})"]
        lines += [f"  [{r.outcome}] {r.rule_id}: {r.text}" for r in self.reasons]
        return "\n".join(lines)


def evaluate(policy: Policy, ctx: Context, *, explain: bool = False) -> Decision:
    """Decide one payment. With `explain`, the reasons are gathered now; otherwise on first reading."""
    why: list[Reason] | None = [] if explain else None
    if ctx.currency != policy.currency:
        if why is not None:
            why.append(Reason("currency", "deny", say("this policy prices in {}, not {}; no exchange rate is assumed",
                                                       policy.currency, ctx.currency)))  # fmt: skip
        return _decided(DENY, "currency", policy, ctx, why)
    if ctx.amount <= 0:
        if why is not None:
            why.append(Reason("amount", "deny", say("the amount must be more than zero")))
        return _decided(DENY, "amount", policy, ctx, why)
    cur = currency(ctx.currency)
    today = local_days(ctx.now_ms, policy.timezone)
    day, month = day_and_month(today)
    c = ctx.counters
    day_spent = c.day_spent if c.day == day else 0
    month_spent = c.month_spent if c.month == month else 0
    consumed: list[str] = []
    refused: list[str] = []
    outcome = _limits(policy, ctx, cur, (day, day_spent), (month, month_spent), consumed, refused, why)

    tax = None
    if policy.tax is not None:
        tax, tax_denied = tax_line(policy, policy.tax, ctx, cur, why, today)
        if tax_denied:
            outcome = DENY
            refused.append(policy.tax.id)

    exemption, sca_outcome, reset = _sca(policy, ctx, why, refused, cur)
    if _RANK[sca_outcome] > _RANK[outcome]:
        outcome = sca_outcome

    room = ctx.amount - (tax.amount if tax is not None and tax.inclusive else 0)  # fees never eat the tax
    fees = _fees(policy, ctx.amount, room)
    if why is not None:
        for rule_id, fee in fees:
            why.append(Reason(rule_id, "info", say("fee {} {}", A(fee, cur), cur.code)))
    after = None
    if outcome == ALLOW:
        since_count, since_amount = (0, 0) if reset else (c.since_sca_count + 1, c.since_sca_amount + ctx.amount)
        after = Counters(day, day_spent + ctx.amount, month, month_spent + ctx.amount, since_count, since_amount)
    return Decision(
        outcome,
        policy.version,
        sum([f for _, f in fees]),
        tuple(fees),
        tax,
        exemption,
        after,
        tuple(consumed),
        tuple(refused),
        (policy, ctx),
        None if why is None else tuple(why),
    )


def _limits(
    policy: Policy, ctx: Context, cur: Currency, today: tuple[str, int], this_month: tuple[str, int],
    consumed: list[str], refused: list[str], why: list[Reason] | None,
) -> str:  # fmt: skip
    """The policy's limits and the payer's own: DENY if any is passed, else ALLOW; each limit's id is
    added to `consumed` or `refused`."""
    (day, day_spent), (month, month_spent) = today, this_month
    outcome = ALLOW

    for limit in policy.limits:
        if not _applies(limit, ctx):
            continue
        period = limit.period
        spent = 0 if period == "payment" else day_spent if period == "day" else month_spent
        total = spent + ctx.amount
        if total > limit.max_units:
            outcome = DENY
            refused.append(limit.id)
            if why is not None:
                told = say("{} {} {} would pass the limit of {} ({})", A(total, cur), cur.code,
                           _label(period, day, month), A(limit.max_units, cur), limit.source)  # fmt: skip
                why.append(Reason(limit.id, "deny", told))
        else:
            consumed.append(limit.id)
            if why is not None:
                why.append(Reason(limit.id, "pass", say("{} of {} {} {}", A(total, cur), A(limit.max_units, cur),
                                                         cur.code, _label(period, day, month))))  # fmt: skip
    if ctx.payer_monthly_limit is not None:
        total = month_spent + ctx.amount
        if total > ctx.payer_monthly_limit:
            outcome = DENY
            refused.append("payer.monthly_limit")
            if why is not None:
                why.append(Reason("payer.monthly_limit", "deny", say(
                    "{} {} this month would pass the payer's own limit of {}", A(total, cur), cur.code,
                    A(ctx.payer_monthly_limit, cur))))  # fmt: skip
        elif why is not None:
            why.append(Reason("payer.monthly_limit", "pass", say("within the payer's own monthly limit")))
    return outcome


def _decided(outcome: str, rule_id: str, policy: Policy, ctx: Context, why: list[Reason] | None) -> Decision:
    return Decision(outcome, policy.version, refused_by=(rule_id,), source=(policy, ctx),
                    _reasons=None if why is None else tuple(why))  # fmt: skip


def _label(period: str, day: str, month: str) -> str:
    return "this payment" if period == "payment" else f"today ({day})" if period == "day" else f"this month ({month})"


def _fees(policy: Policy, amount: int, room: int) -> list[tuple[str, int]]:
    """Each fee rule's fee on `amount`: fixed plus a share, within its min and max, never past `room`."""
    fees: list[tuple[str, int]] = []
    taken = 0
    for rule in policy.fees:
        fee = max(rule.fixed + share(amount, rule.ppm, 1_000_000), rule.min)
        if rule.max is not None:
            fee = min(fee, rule.max)
        fee = min(fee, room - taken)
        taken += fee
        fees.append((rule.id, fee))
    return fees


def fees_of(policy: Policy, amount: int, room: int) -> int:
    """The policy's fees on `amount` in all, never more than `room` (e.g. on a hold's capture)."""
    return sum(fee for _, fee in _fees(policy, amount, room))


def _applies(limit: Limit, ctx: Context) -> bool:
    return (
        (limit.age_bands is None or ctx.age_band in limit.age_bands)
        and (limit.channels is None or ctx.channel in limit.channels)
        and (limit.payer_countries is None or ctx.payer_country in limit.payer_countries)
    )


def _sca(
    policy: Policy, ctx: Context, why: list[Reason] | None, refused: list[str], cur: Currency
) -> tuple[str | None, str, bool]:
    """(exempting rule, outcome, counters reset) for strong customer authentication."""
    rules = _sca_rules(policy, ctx.channel)
    if not rules:
        return None, ALLOW, False
    if ctx.authenticated:
        if why is not None:
            why.append(Reason(rules[0].id, "pass", say("strongly authenticated: the counters since SCA start again")))
        return None, ALLOW, True
    c = ctx.counters
    for rule in rules:
        reason = _sca_exceeded(rule, ctx, cur)
        if reason is None:
            if why is None:
                return rule.id, ALLOW, False
            why.append(Reason(rule.id, "exempt", say(
                "low-value exemption: {} ≤ {}, payment {} since the last SCA, {} in all ({})", A(ctx.amount, cur),
                A(rule.single_max, cur), c.since_sca_count + 1, A(c.since_sca_amount + ctx.amount, cur),
                rule.source)))  # fmt: skip
            return rule.id, ALLOW, False
        refused.append(rule.id)
        if why is not None:
            why.append(Reason(rule.id, "step_up", say("no low-value exemption: {} ({})", reason, rule.source)))
    tra = policy.tra
    if tra is not None and tra.channels is not None and ctx.channel not in tra.channels:
        tra = None  # Art. 18's exemption is for remote payments; a device's has Art. 11's alone
    if tra is not None and ctx.fraud_rate_ppm is not None and not ctx.risk_high and ctx.currency == tra.currency:
        for up_to, rate_max in tra.bands:
            if ctx.amount <= up_to and ctx.fraud_rate_ppm <= rate_max:
                if why is not None:
                    why.append(Reason(tra.id, "exempt", say(
                        "transaction-risk analysis: up to {} while the fraud rate stays at most {}% ({})",
                        A(up_to, cur), percent(rate_max), tra.source)))  # fmt: skip
                return tra.id, ALLOW, False
        refused.append(tra.id)
        if why is not None:
            why.append(Reason(tra.id, "step_up", say("no transaction-risk exemption at this fraud rate and amount")))
    elif tra is not None and ctx.risk_high:
        refused.append(tra.id)
        if why is not None:
            why.append(Reason(tra.id, "step_up", say("the risk analysis found something abnormal")))
    return None, STEP_UP, False


def _sca_rules(policy: Policy, channel: str) -> tuple[Sca, ...]:
    rules = policy.sca_by_channel.get(channel)
    if rules is None:  # a channel no rule names
        return tuple(r for r in policy.sca if r.channels is None or channel in r.channels)
    return rules


def _sca_exceeded(rule: Sca, ctx: Context, cur: Currency) -> Lazy | None:
    """Why the low-value exemption does not hold (None if it does), as text built when read."""
    c = ctx.counters
    if ctx.amount > rule.single_max:
        return Lazy(say("{} is over {}", A(ctx.amount, cur), A(rule.single_max, cur)))
    if rule.counters in ("both", "count") and c.since_sca_count + 1 > rule.consecutive_max:
        return Lazy(say("this would be payment {} since the last SCA (at most {})", c.since_sca_count + 1,
                          rule.consecutive_max))  # fmt: skip
    if rule.counters in ("both", "amount") and c.since_sca_amount + ctx.amount > rule.cumulative_max:
        total = c.since_sca_amount + ctx.amount
        return Lazy(say("{} since the last SCA would pass {}", A(total, cur), A(rule.cumulative_max, cur)))
    return None
