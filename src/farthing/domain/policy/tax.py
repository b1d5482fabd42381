"""Tax by evidence: the place of supply from the payer's location evidence, and the rate in force there."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import cast

from farthing.domain.money import Currency, share
from farthing.domain.policy.decision import A, Lazy, Percent, Reason, TaxLine, say, tell
from farthing.domain.policy.inputs import Context, Evidence
from farthing.domain.policy.model import Policy, Tax


def place_of_supply(tax: Tax, evidence: Evidence) -> tuple[str | None, tuple[str, ...], Callable[[], str]]:
    """(country, the evidence used, how it was decided, as text on demand) from the payer's location evidence."""
    pieces = evidence.pieces()
    countries = {v for _, v in pieces}
    if len(countries) == 1 and len(pieces) >= tax.evidence_required:
        country = next(iter(countries))
        return (
            country,
            tuple(k for k, _ in pieces),
            say("{} of evidence agree{} on {}", _pieces(len(pieces)), "" if len(pieces) > 1 else "s", country),
        )
    if len(countries) > 1:
        listing = Lazy(partial(_listing, pieces))
        if tax.on_conflict == "deny":
            return None, (), say("the evidence disagrees ({}) and the policy refuses to choose", listing)
        chosen = dict(pieces).get(tax.on_conflict)
        if chosen is None:
            return None, (), say("the evidence disagrees ({}) and has no {} country", listing, tax.on_conflict)
        agreeing = tuple(k for k, v in pieces if v == chosen)
        return chosen, agreeing, say("the evidence disagrees ({}); the {} country wins", listing, tax.on_conflict)
    return None, (), say("{} of evidence, {} needed", _pieces(len(pieces)), tax.evidence_required)


_Place = tuple[str | None, tuple[str, ...], Callable[[], str]]


def _pieces(n: int) -> str:
    return "one piece" if n == 1 else f"{n} pieces"


def _listing(pieces: list[tuple[str, str]]) -> str:
    return ", ".join(f"{k} {v}" for k, v in pieces)


def tax_line(
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
    how = Lazy(said)
    if country is None:
        if why is None:  # the reason is told only when asked for: the decision is all that is needed now
            return None, tax.unknown != "exempt"
        if tax.unknown == "exempt":
            return None, tell(why, Reason(tax.id, "info", say("place of supply unknown: {}; no tax charged", how)))
        return None, tell(why, Reason(tax.id, "deny", say("place of supply unknown: {} ({})", how, tax.source)))
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
            return None, tell(why, Reason(tax.id, "info", say("{}; {} has no {} rate here: none charged", how, place,
                                                                tax.kind)))  # fmt: skip
        return None, tell(why, Reason(tax.id, "deny", say("{}; no {} rate for {} ({})", how, tax.kind, place,
                                                            tax.source)))  # fmt: skip
    if rate is None:
        if why is None:
            return None, False
        return None, tell(why, Reason(tax.id, "info", say("{}; not taxed in {}", how, place)))
    # Included, the price holds the tax (gross = net * (1 + rate)); added, the tax is rate * price.
    amount = share(ctx.amount, rate, 1_000_000 + rate if tax.inclusive else 1_000_000)
    if why is not None:
        why.append(Reason(tax.id, "info", say("{}; {} {}% in {}: {} {} {}", how, tax.kind.upper(), Percent(rate),
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
