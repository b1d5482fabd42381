"""Consumer windows: how long refunds go through the platform, and the payer's right of withdrawal."""

from __future__ import annotations

from datetime import date, timedelta

from farthing.domain.policy import deadlines
from farthing.domain.policy.calendar import EPOCH_ORDINAL, local_days
from farthing.domain.policy.decision import Reason, say
from farthing.domain.policy.model import Policy


def refund_allowed(policy: Policy, paid_at_ms: int, now_ms: int) -> tuple[bool, Reason]:
    """May a payment made at `paid_at_ms` be refunded through the platform at `now_ms`? Counted in whole
    days of the policy's calendar, the day of payment not counted: paid on the 1st with 14 days, the
    15th is the last day (Regulation 1182/71 on periods, as the Consumer Rights Directive counts them),
    moved to the next working day when the rule's `period_end` says so (Art. 3(4))."""
    rule = policy.consumer
    if rule is None:
        return True, Reason("consumer", "info", say("no refund window in this policy"))
    return _window(policy, rule.refund_window_days, paid_at_ms, now_ms, "for refunds", "refund window closed")


def withdrawal_allowed(policy: Policy, paid_at_ms: int, now_ms: int, waived: bool) -> tuple[bool, Reason]:
    """The consumer's own right to withdraw: within `withdrawal_days`, unless it was waived when the
    supply of digital content began (where the policy allows a waiver)."""
    rule = policy.consumer
    if rule is None or rule.withdrawal_days == 0:
        return False, Reason(rule.id if rule else "consumer", "deny", say("no withdrawal right in this policy"))
    if waived and rule.waiver_allowed:
        return False, Reason(rule.id, "deny", say("waived with express consent when supply began ({})", rule.source))
    return _window(policy, rule.withdrawal_days, paid_at_ms, now_ms, "to withdraw", "withdrawal period ended")


def _window(policy: Policy, days: int, start_ms: int, now_ms: int, within: str, over: str) -> tuple[bool, Reason]:
    """Whether `now_ms` is within the consumer rule's period of `days` that began at `start_ms`, and why."""
    rule = policy.consumer
    assert rule is not None
    elapsed, inside, moved = _period(policy, days, start_ms, now_ms)
    if inside:
        return True, Reason(rule.id, "pass", say("day {} of {} {}{} ({})", elapsed, days, within, moved, rule.source))
    return False, Reason(rule.id, "deny", say("day {}: the {}-day {}{} ({})", elapsed, days, over, moved, rule.source))


def _period(policy: Policy, days: int, start_ms: int, now_ms: int) -> tuple[int, bool, str]:
    """(days since the start, whether `now_ms` is within the period, what moved its end: "" or a note)."""
    assert policy.consumer is not None
    started = local_days(start_ms, policy.timezone)
    elapsed = local_days(now_ms, policy.timezone) - started
    start = date.fromordinal(started + EPOCH_ORDINAL)
    end = deadlines.last_day(start, days, policy.consumer.period_end, policy.jurisdiction)
    plain = start + timedelta(days=days)
    moved = (
        "" if end == plain else f" (its last day, {plain:%a %d %b %Y}, is not a working day: it ends {end:%a %d %b})"
    )
    return elapsed, elapsed <= (end - start).days, moved
