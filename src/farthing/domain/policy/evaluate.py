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

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import lru_cache, partial
from typing import cast
from zoneinfo import ZoneInfo

from farthing.domain.money import Currency, currency, share
from farthing.domain.policy import deadlines
from farthing.domain.policy.inputs import Context as Context  # the inputs, decided from here: re-exported
from farthing.domain.policy.inputs import Counters as Counters
from farthing.domain.policy.inputs import Evidence as Evidence
from farthing.domain.policy.model import Limit, Policy, Sca, Tax
from farthing.domain.quick_init import quick_init

ALLOW, DENY, STEP_UP = "allow", "deny", "step_up"
_RANK = {ALLOW: 0, STEP_UP: 1, DENY: 2}


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


class _Lazy:
    """Text from a function, built when a reason's text is."""

    __slots__ = ("say",)

    def __init__(self, say: Callable[[], str]) -> None:
        self.say = say

    def __format__(self, spec: str) -> str:
        return self.say()


class _Percent:
    __slots__ = ("ppm",)

    def __init__(self, ppm: int) -> None:
        self.ppm = ppm

    def __format__(self, spec: str) -> str:
        return percent(self.ppm)


class _Amount:
    """Units of a currency, formatted only when a reason's text is built."""

    __slots__ = ("cur", "units")

    def __init__(self, units: int, cur: Currency) -> None:
        self.units = units
        self.cur = cur

    def __format__(self, spec: str) -> str:
        return self.cur.format(self.units)


def _say(template: str, *args: object) -> Callable[[], str]:
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


def percent(ppm: int) -> str:
    """190_000 -> "19"; 1_300 -> "0.13" (for people; never computed with)."""
    return format((Decimal(ppm) / 10_000).normalize(), "f")


@lru_cache(maxsize=64)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def local_day_and_month(now_ms: int, timezone: str) -> tuple[str, str]:
    """The payer's local day and month at `now_ms` in `timezone`: ("2026-11-28", "2026-11")."""
    return _day_and_month(_local_days(now_ms, timezone))


def _local_days(ms: int, timezone: str) -> int:
    """Days since 1970-01-01 in `timezone`'s calendar at the instant `ms`."""
    s = ms // 1000
    return (s + _offset_s(timezone, s // 900)) // 86_400


@lru_cache(maxsize=4096)
def _offset_s(timezone: str, quarter_hour: int) -> int:
    """The zone's UTC offset during a quarter hour (every zone changes offset on a quarter-hour boundary)."""
    offset = datetime.fromtimestamp(quarter_hour * 900, _zone(timezone)).utcoffset()
    return int(offset.total_seconds()) if offset is not None else 0


@lru_cache(maxsize=1024)
def _day_and_month(days_since_epoch: int) -> tuple[str, str]:
    d = date.fromordinal(days_since_epoch + _EPOCH_ORDINAL)
    return f"{d.year:04d}-{d.month:02d}-{d.day:02d}", f"{d.year:04d}-{d.month:02d}"


_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


def evaluate(policy: Policy, ctx: Context, *, explain: bool = False) -> Decision:
    """Decide one payment. With `explain`, the reasons are gathered now; otherwise on first reading."""
    why: list[Reason] | None = [] if explain else None
    if ctx.currency != policy.currency:
        if why is not None:
            why.append(Reason("currency", "deny", _say("this policy prices in {}, not {}; no exchange rate is assumed",
                                                       policy.currency, ctx.currency)))  # fmt: skip
        return _decided(DENY, "currency", policy, ctx, why)
    if ctx.amount <= 0:
        if why is not None:
            why.append(Reason("amount", "deny", _say("the amount must be more than zero")))
        return _decided(DENY, "amount", policy, ctx, why)
    cur = currency(ctx.currency)
    outcome = ALLOW
    today = _local_days(ctx.now_ms, policy.timezone)
    day, month = _day_and_month(today)
    c = ctx.counters
    day_spent = c.day_spent if c.day == day else 0
    month_spent = c.month_spent if c.month == month else 0
    consumed: list[str] = []
    refused: list[str] = []

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
                say = _say("{} {} {} would pass the limit of {} ({})", A(total, cur), cur.code,
                           _label(period, day, month), A(limit.max_units, cur), limit.source)  # fmt: skip
                why.append(Reason(limit.id, "deny", say))
        else:
            consumed.append(limit.id)
            if why is not None:
                why.append(Reason(limit.id, "pass", _say("{} of {} {} {}", A(total, cur), A(limit.max_units, cur),
                                                         cur.code, _label(period, day, month))))  # fmt: skip
    if ctx.payer_monthly_limit is not None:
        total = month_spent + ctx.amount
        if total > ctx.payer_monthly_limit:
            outcome = DENY
            refused.append("payer.monthly_limit")
            if why is not None:
                why.append(Reason("payer.monthly_limit", "deny", _say(
                    "{} {} this month would pass the payer's own limit of {}", A(total, cur), cur.code,
                    A(ctx.payer_monthly_limit, cur))))  # fmt: skip
        elif why is not None:
            why.append(Reason("payer.monthly_limit", "pass", _say("within the payer's own monthly limit")))

    tax = None
    if policy.tax is not None:
        tax, tax_denied = _tax(policy, policy.tax, ctx, cur, why, today)
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
            why.append(Reason(rule_id, "info", _say("fee {} {}", A(fee, cur), cur.code)))
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
            why.append(Reason(rules[0].id, "pass", _say("strongly authenticated: the counters since SCA start again")))
        return None, ALLOW, True
    c = ctx.counters
    for rule in rules:
        reason = _sca_exceeded(rule, ctx, cur)
        if reason is None:
            if why is None:
                return rule.id, ALLOW, False
            why.append(Reason(rule.id, "exempt", _say(
                "low-value exemption: {} ≤ {}, payment {} since the last SCA, {} in all ({})", A(ctx.amount, cur),
                A(rule.single_max, cur), c.since_sca_count + 1, A(c.since_sca_amount + ctx.amount, cur),
                rule.source)))  # fmt: skip
            return rule.id, ALLOW, False
        refused.append(rule.id)
        if why is not None:
            why.append(Reason(rule.id, "step_up", _say("no low-value exemption: {} ({})", reason, rule.source)))
    tra = policy.tra
    if tra is not None and ctx.fraud_rate_ppm is not None and not ctx.risk_high and ctx.currency == tra.currency:
        for up_to, rate_max in tra.bands:
            if ctx.amount <= up_to and ctx.fraud_rate_ppm <= rate_max:
                if why is not None:
                    why.append(Reason(tra.id, "exempt", _say(
                        "transaction-risk analysis: up to {} while the fraud rate stays at most {}% ({})",
                        A(up_to, cur), percent(rate_max), tra.source)))  # fmt: skip
                return tra.id, ALLOW, False
        refused.append(tra.id)
        if why is not None:
            why.append(Reason(tra.id, "step_up", _say("no transaction-risk exemption at this fraud rate and amount")))
    elif tra is not None and ctx.risk_high:
        refused.append(tra.id)
        if why is not None:
            why.append(Reason(tra.id, "step_up", _say("the risk analysis found something abnormal")))
    return None, STEP_UP, False


def _sca_rules(policy: Policy, channel: str) -> tuple[Sca, ...]:
    rules = policy.sca_by_channel.get(channel)
    if rules is None:  # a channel no rule names
        return tuple(r for r in policy.sca if r.channels is None or channel in r.channels)
    return rules


def _sca_exceeded(rule: Sca, ctx: Context, cur: Currency) -> _Lazy | None:
    """Why the low-value exemption does not hold (None if it does), as text built when read."""
    c = ctx.counters
    if ctx.amount > rule.single_max:
        return _Lazy(_say("{} is over {}", A(ctx.amount, cur), A(rule.single_max, cur)))
    if rule.counters in ("both", "count") and c.since_sca_count + 1 > rule.consecutive_max:
        return _Lazy(_say("this would be payment {} since the last SCA (at most {})", c.since_sca_count + 1,
                          rule.consecutive_max))  # fmt: skip
    if rule.counters in ("both", "amount") and c.since_sca_amount + ctx.amount > rule.cumulative_max:
        total = c.since_sca_amount + ctx.amount
        return _Lazy(_say("{} since the last SCA would pass {}", A(total, cur), A(rule.cumulative_max, cur)))
    return None


def place_of_supply(tax: Tax, evidence: Evidence) -> tuple[str | None, tuple[str, ...], Callable[[], str]]:
    """(country, the evidence used, how it was decided, as text on demand) from the payer's location evidence."""
    pieces = evidence.pieces()
    countries = {v for _, v in pieces}
    if len(countries) == 1 and len(pieces) >= tax.evidence_required:
        country = next(iter(countries))
        return (
            country,
            tuple(k for k, _ in pieces),
            _say("{} of evidence agree{} on {}", _pieces(len(pieces)), "" if len(pieces) > 1 else "s", country),
        )
    if len(countries) > 1:
        listing = _Lazy(partial(_listing, pieces))
        if tax.on_conflict == "deny":
            return None, (), _say("the evidence disagrees ({}) and the policy refuses to choose", listing)
        chosen = dict(pieces).get(tax.on_conflict)
        if chosen is None:
            return None, (), _say("the evidence disagrees ({}) and has no {} country", listing, tax.on_conflict)
        agreeing = tuple(k for k, v in pieces if v == chosen)
        return chosen, agreeing, _say("the evidence disagrees ({}); the {} country wins", listing, tax.on_conflict)
    return None, (), _say("{} of evidence, {} needed", _pieces(len(pieces)), tax.evidence_required)


_Place = tuple[str | None, tuple[str, ...], Callable[[], str]]


def _pieces(n: int) -> str:
    return "one piece" if n == 1 else f"{n} pieces"


def _listing(pieces: list[tuple[str, str]]) -> str:
    return ", ".join(f"{k} {v}" for k, v in pieces)


def _tax(
    policy: Policy, tax: Tax, ctx: Context, cur: Currency, why: list[Reason] | None, today: int
) -> tuple[TaxLine | None, bool]:
    """(the tax line, whether the tax rule denies the payment); the reason goes to `why`."""
    memo = policy.memo
    found = memo.get(ctx.evidence)
    if found is None:  # payers show the same few combinations of evidence over and over
        if len(memo) >= 4096:
            memo.clear()
        found = memo[ctx.evidence] = place_of_supply(tax, ctx.evidence)
    country, used, said = cast(_Place, found)
    how = _Lazy(said)
    if country is None:
        if why is None:  # the reason is told only when asked for: the decision is all that is needed now
            return None, tax.unknown != "exempt"
        if tax.unknown == "exempt":
            return None, _tell(why, Reason(tax.id, "info", _say("place of supply unknown: {}; no tax charged", how)))
        return None, _tell(why, Reason(tax.id, "deny", _say("place of supply unknown: {} ({})", how, tax.source)))
    region = ctx.evidence.region
    rates, schedule = tax.rates_ppm, tax.schedule
    place = country
    if region and (f"{country}-{region}" in rates or f"{country}-{region}" in schedule):
        place = f"{country}-{region}"
    rate = rates.get(place, _MISSING) if place in rates else _in_force(schedule.get(place, ()), today, policy)
    if rate is _MISSING:
        if why is None:
            return None, tax.unknown != "exempt"
        if tax.unknown == "exempt":
            return None, _tell(why, Reason(tax.id, "info", _say("{}; {} has no {} rate here: none charged", how, place,
                                                                tax.kind)))  # fmt: skip
        return None, _tell(why, Reason(tax.id, "deny", _say("{}; no {} rate for {} ({})", how, tax.kind, place,
                                                            tax.source)))  # fmt: skip
    if rate is None:
        if why is None:
            return None, False
        return None, _tell(why, Reason(tax.id, "info", _say("{}; not taxed in {}", how, place)))
    # Included, the price holds the tax (gross = net * (1 + rate)); added, the tax is rate * price.
    amount = share(ctx.amount, rate, 1_000_000 + rate if tax.inclusive else 1_000_000)
    if why is not None:
        why.append(Reason(tax.id, "info", _say("{}; {} {}% in {}: {} {} {}", how, tax.kind.upper(), _Percent(rate),
                                               place, A(amount, cur), ctx.currency, "included in the price"
                                               if tax.inclusive else "added to the price")))  # fmt: skip
    return TaxLine(tax.id, tax.kind, place, rate, tax.inclusive, amount, used), False


_MISSING = -1
"""No rate for the place (or none in force yet on the payment's day)."""


def _in_force(rows: tuple[tuple[int, int | None], ...], today: int, policy: Policy) -> int | None:
    """The rate of the last row that applies on `today` (days since 1970 in the policy's calendar)."""
    if not rows:
        return _MISSING
    key = (id(rows), today)
    memo = policy.memo
    found = memo.get(key, _UNSEEN)
    if found is not _UNSEEN:  # the same few places, day after day
        return cast(int | None, found)
    found = _MISSING
    for first_day, rate in rows:
        if first_day > today:
            break
        found = rate
    if len(memo) >= 4096:
        memo.clear()
    memo[key] = found
    return found


_UNSEEN = object()


def _tell(why: list[Reason] | None, reason: Reason) -> bool:
    """Record `reason` if reasons are being gathered; whether it denies the payment."""
    if why is not None:
        why.append(reason)
    return reason.outcome == "deny"


A = _Amount


def refund_allowed(policy: Policy, paid_at_ms: int, now_ms: int) -> tuple[bool, Reason]:
    """May a payment made at `paid_at_ms` be refunded through the platform at `now_ms`? Counted in whole
    days of the policy's calendar, the day of payment not counted: paid on the 1st with 14 days, the
    15th is the last day (Regulation 1182/71 on periods, as the Consumer Rights Directive counts them),
    moved to the next working day when the rule's `period_end` says so (Art. 3(4))."""
    rule = policy.consumer
    if rule is None:
        return True, Reason("consumer", "info", _say("no refund window in this policy"))
    return _window(policy, rule.refund_window_days, paid_at_ms, now_ms, "for refunds", "refund window closed")


def withdrawal_allowed(policy: Policy, paid_at_ms: int, now_ms: int, waived: bool) -> tuple[bool, Reason]:
    """The consumer's own right to withdraw: within `withdrawal_days`, unless it was waived when the
    supply of digital content began (where the policy allows a waiver)."""
    rule = policy.consumer
    if rule is None or rule.withdrawal_days == 0:
        return False, Reason(rule.id if rule else "consumer", "deny", _say("no withdrawal right in this policy"))
    if waived and rule.waiver_allowed:
        return False, Reason(rule.id, "deny", _say("waived with express consent when supply began ({})", rule.source))
    return _window(policy, rule.withdrawal_days, paid_at_ms, now_ms, "to withdraw", "withdrawal period ended")


def _window(policy: Policy, days: int, start_ms: int, now_ms: int, within: str, over: str) -> tuple[bool, Reason]:
    """Whether `now_ms` is within the consumer rule's period of `days` that began at `start_ms`, and why."""
    rule = policy.consumer
    assert rule is not None
    elapsed, inside, moved = _period(policy, days, start_ms, now_ms)
    if inside:
        return True, Reason(rule.id, "pass", _say("day {} of {} {}{} ({})", elapsed, days, within, moved, rule.source))
    return False, Reason(rule.id, "deny", _say("day {}: the {}-day {}{} ({})", elapsed, days, over, moved, rule.source))


def _period(policy: Policy, days: int, start_ms: int, now_ms: int) -> tuple[int, bool, str]:
    """(days since the start, whether `now_ms` is within the period, what moved its end: "" or a note)."""
    assert policy.consumer is not None
    started = _local_days(start_ms, policy.timezone)
    elapsed = _local_days(now_ms, policy.timezone) - started
    start = date.fromordinal(started + _EPOCH_ORDINAL)
    end = deadlines.last_day(start, days, policy.consumer.period_end, policy.jurisdiction)
    plain = start + timedelta(days=days)
    moved = (
        "" if end == plain else f" (its last day, {plain:%a %d %b %Y}, is not a working day: it ends {end:%a %d %b})"
    )
    return elapsed, elapsed <= (end - start).days, moved
