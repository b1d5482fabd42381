"""The policy on the payment path: evaluate before money moves, and keep the payer's counters in the
ledger, in the same transaction as the payment.

A payment in a currency that has a policy is decided by `farthing.domain.policy.evaluate`. Denied or
stepped-up payments move nothing and answer with the decision's reasons. An allowed one takes the
policy's fees, and its linked chain carries memo transfers that count it: the payer's spend this day
and month (in the policy's calendar) and since its last strong authentication (amount and number),
each a credit-only account in a counter ledger beside the currency's. So the counters are exact,
durable and committed with the payment or not at all.

Concurrency: the counters read for a decision are the engine's validated balances (batches in flight
included) plus this process's payments not yet validated (`farthing.services.counts_in_flight`: each
counted once, never twice). A payer's decisions in this process are taken one at a time (a lock per
payer, striped), each counted before the next reads, so concurrent payments see each other exactly.
And the ledger itself holds each day's and month's limit: a headroom account per payer, limit and
period, funded once with the limit and flagged `debits_must_not_exceed_credits`, from which every
payment draws in its linked chain. A payment past the limit (say, paid through another server
process at the same moment) fails in the ledger with its whole chain, and is answered
`policy_denied`.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

from farthing.domain.ledger_types import Account, AccountFlags, Transfer
from farthing.domain.money import Currency, share
from farthing.domain.policy.decision import ALLOW, DENY
from farthing.domain.policy.evaluate import (
    Context,
    Counters,
    Decision,
    Evidence,
    evaluate,
    fees_of,
    local_day_and_month,
)
from farthing.domain.policy.model import Policy
from farthing.domain.principals import Profile
from farthing.domain.quick_init import quick_init
from farthing.domain.tax_base import TaxBase
from farthing.engine.committer import GroupCommitter
from farthing.engine.ids import derive_id
from farthing.errors import AccountResult, ErrorCode, TransferResult
from farthing.services.blocking import may_block
from farthing.services.counts_in_flight import CountsInFlight
from farthing.services.overrides import Overrides
from farthing.services.policy_repositories import ScaEpochRepository, TaxBaseRepository

COUNTER_LEDGER_OFFSET = 2_000_000
"""Counter ledgers (the payers' spend, for limits) sit at the currency's ledger number plus this."""
CODE_COUNTER_SOURCE, CODE_SPENT_DAY, CODE_SPENT_MONTH, CODE_SCA_AMOUNT, CODE_SCA_COUNT = 40, 41, 42, 43, 44
CODE_TAX_BASE, CODE_HEADROOM = 45, 46
T_HEADROOM, T_FUND_HEADROOM = 41, 42
T_COUNT = 40
EPOCH_CACHE_MS = 1_000
KNOWN_ACCOUNTS_MAX = 500_000
"""How many counter and headroom accounts a process remembers as open (a fleet of devices adds two a
device a day; past this many the memory starts again, and the next use of each opens it again, once)."""
PAYER_LOCK_STRIPES = 256
_CODES = {"day": CODE_SPENT_DAY, "month": CODE_SPENT_MONTH, "sca_amount": CODE_SCA_AMOUNT, "sca_count": CODE_SCA_COUNT}


@quick_init
@dataclass(frozen=True, slots=True)
class Gate:
    """An allowed payment: its fee, the counting legs to link after its own, and the decision."""

    fee: int
    legs: list[Transfer]
    decision: Decision
    counted: list[tuple[int, int, int]]
    """(counting leg, counter account, amount) this process counts as in flight until the payment's
    batch is validated (or, if it never is, answers)."""
    guards: int = 0
    """How many of the last legs draw on headroom accounts (a day's or a month's limit)."""
    added_tax: int = 0
    """Tax added to the price (a US sales tax): the payer pays it on top, with the payment."""


@lru_cache(maxsize=64)
def counter_source(currency_code: str) -> int:
    """The account every counter of a currency is counted from (its id, worked out once)."""
    return derive_id("counter-source", currency_code)


@dataclass(frozen=True, slots=True)
class RiskSeen:
    """What the risk engine tells the policy: whether it found the payment abnormal (no transaction-risk
    exemption, PSD2 RTS Art. 18(2)(c)), and the platform's fraud rate in ppm (None: not known)."""

    high: bool = False
    fraud_rate_ppm: int | None = None


NO_RISK = RiskSeen()


class PolicyRefused(Exception):
    def __init__(self, code: ErrorCode, decision: Decision | None, detail: str | None = None) -> None:
        """`decision`: the policy's (None where the risk engine refused a payment no policy decides)."""
        self.code = code
        self.decision = decision
        decisive = [r.text for r in decision.reasons if r.outcome in ("deny", "step_up")] if decision else []
        self.detail = detail or "; ".join(decisive) or (decision.outcome if decision else code.value)
        super().__init__(self.detail)


DEFAULT_FEE_PPM = 20_000
"""The platform's fee where no policy decides: 2 %."""


class PaymentPolicy:
    def __init__(
        self, policies: Mapping[str, Policy], ledger: GroupCommitter, sca: ScaEpochRepository,
        tax_bases: TaxBaseRepository, overrides: Overrides, fee_ppm: int = DEFAULT_FEE_PPM,
    ) -> None:  # fmt: skip
        """`policies` maps a currency to the policy that decides payments in it (others pay `fee_ppm`)."""
        if not 0 <= fee_ppm < 1_000_000:
            raise ValueError(f"fee_ppm must be in 0..999999, not {fee_ppm}")
        self.policies = dict(policies)
        self.fee_ppm = fee_ppm
        self._ledger = ledger
        self._sca = sca
        self._tax_bases = tax_bases
        self._opened: set[int] = set()
        """Counter accounts known open (forgotten past `KNOWN_ACCOUNTS_MAX`: opening again is harmless)."""
        self._funded: set[int] = set()
        """Headroom accounts known funded (likewise: a funding's id makes it happen once)."""
        self._in_flight = CountsInFlight(ledger)
        self._lock = threading.Lock()
        self._payer_locks = [threading.Lock() for _ in range(PAYER_LOCK_STRIPES)]
        self._epochs: dict[str, tuple[str, int]] = {}
        self.overrides = overrides
        self.decided: dict[tuple[str, str], int] = {}
        """Decisions so far by (outcome, rule): the rule that refused or asked for strong authentication, or
        the SCA exemption that let a payment through ("" when none did): read by `/metrics`."""

    def for_currency(self, code: str) -> Policy | None:
        """The platform's policy for payments in `code` (None: none is decided)."""
        return self.policies.get(code)

    def fee_for(self, cur: Currency, units: int) -> int:
        """The platform's fee on `units`: the currency's policy fee rules, else `fee_ppm`."""
        policy = self.policies.get(cur.code)
        if policy is not None:
            return fees_of(policy, units, units)
        return share(units, self.fee_ppm, 1_000_000)

    def for_payment(self, code: str, merchant: str) -> Policy | None:
        """The policy for `merchant`'s payments in `code`: the platform's, with the merchant's override."""
        base = self.policies.get(code)
        return None if base is None else self.overrides.policy(base, merchant)

    def gate(
        self, policy: Policy, payer: str, merchant: str, profile: Profile, evidence: Evidence, cur: Currency,
        units: int, now_ms: int, payment_id: int, stage: str = "payment", channel: str = "remote",
        risk: RiskSeen = NO_RISK,
    ) -> Gate:  # fmt: skip
        """Decide the payment; raise `PolicyRefused` unless it is allowed.

        `stage`: a `payment` counts everything; a `hold` is decided in full (strong authentication is
        decided when a payment starts) but counts only toward the SCA counters, since it may be voided
        or expire; its `capture` counts what was captured toward the limits and the tax base (SCA
        already settled: the context says authenticated, and the evidence is the hold's place of supply).
        """
        with self._payer_locks[hash(payer) % PAYER_LOCK_STRIPES]:  # read and count as one step, per payer
            return self._gate(policy, payer, merchant, profile, evidence, cur, units, now_ms, payment_id, stage,
                              channel, risk)  # fmt: skip

    def _gate(
        self, policy: Policy, payer: str, merchant: str, profile: Profile, evidence: Evidence, cur: Currency,
        units: int, now_ms: int, payment_id: int, stage: str, channel: str, risk: RiskSeen,
    ) -> Gate:  # fmt: skip
        hold = stage == "hold"
        decision, ids, wanted, counters, day, month = self._decide(
            policy, payer, profile, evidence, cur, units, now_ms, stage, channel, risk
        )
        if decision.outcome != ALLOW:
            code = ErrorCode.policy_denied if decision.outcome == DENY else ErrorCode.authentication_required
            raise PolicyRefused(code, decision)
        source = counter_source(cur.code)
        ledger = cur.ledger + COUNTER_LEDGER_OFFSET
        legs, counted = [], []
        for key in wanted:
            amount = 1 if key == "sca_count" else units
            if key.startswith("sca") and decision.sca_exemption is None:
                continue  # not exempt (no SCA rule for this channel, or a capture): nothing to count
            if hold and not key.startswith("sca"):
                continue  # a hold counts toward the limits when it is captured
            leg = Transfer(derive_id("count", key, str(payment_id)), source, ids[key], amount, ledger, T_COUNT)
            legs.append(leg)
            counted.append((leg.id, ids[key], amount))
        guards = 0
        for limit in policy.limits:  # the ledger itself holds the line, whichever process pays
            if limit.id not in decision.consumed or limit.period == "payment" or hold:
                continue
            period, spent_before = (day, counters.day_spent) if limit.period == "day" else (month, counters.month_spent)
            headroom = derive_id("headroom", payer, limit.id, period, str(limit.max_units))
            self.fund_headrooms(cur, [(headroom, limit.max_units - spent_before)])
            legs.append(Transfer(derive_id("spend", str(headroom), str(payment_id)), headroom, source, units, ledger,
                                 T_HEADROOM))  # fmt: skip
            guards += 1
        tax = decision.tax
        if tax is not None and not hold:  # the gross joins its tax base: merchant, place, rate and month
            base = self._tax_base(merchant, tax.place, tax.kind, tax.rate_ppm, tax.inclusive, month, cur)
            legs.append(Transfer(derive_id("count", "taxable", str(payment_id)), source, base, units, ledger, T_COUNT))
        self._in_flight.add(counted)
        # The guards go last: a payment refused by one is told apart from one refused for want of funds.
        legs = [t for t in legs if t.code != T_HEADROOM] + [t for t in legs if t.code == T_HEADROOM]
        added = tax.amount if tax is not None and not tax.inclusive and not hold else 0
        return Gate(decision.fee, legs, decision, counted, guards, added)

    def decide(
        self, policy: Policy, payer: str, profile: Profile, evidence: Evidence, cur: Currency, units: int,
        now_ms: int, stage: str = "payment", channel: str = "remote", risk: RiskSeen = NO_RISK,
    ) -> Decision:  # fmt: skip
        """The policy's decision on a payment, counting nothing (a payment placed to wait for strong
        authentication records it, and is counted when captured)."""
        return self._decide(policy, payer, profile, evidence, cur, units, now_ms, stage, channel, risk)[0]

    def _decide(
        self, policy: Policy, payer: str, profile: Profile, evidence: Evidence, cur: Currency, units: int,
        now_ms: int, stage: str, channel: str = "remote", risk: RiskSeen = NO_RISK,
    ) -> tuple[Decision, dict[str, int], tuple[str, ...], Counters, str, str]:  # fmt: skip
        capture = stage == "capture"
        day, month = local_day_and_month(now_ms, policy.timezone)
        wanted = policy.counters
        if capture and policy.sca:  # strongly authenticated: the SCA counters start again, unread
            wanted = tuple(k for k in wanted if not k.startswith("sca"))
        ids: dict[str, int] = {}
        counts: dict[str, int] = {}
        if wanted:  # only the counters the policy reads: its limits' periods, its SCA rules'
            epoch = self._epoch_name(payer, now_ms) if "sca_count" in wanted else ""
            named = {"day": ("spent-day", day), "month": ("spent-month", month), "sca_amount": ("sca-amount", epoch),
                     "sca_count": ("sca-count", epoch)}  # fmt: skip
            ids = {k: derive_id(named[k][0], payer, cur.code, named[k][1]) for k in wanted}
            self._open(cur, [(ids[k], _CODES[k]) for k in wanted])
            spent = self._in_flight.spent(list(ids.values()))
            counts = {k: spent.get(a, 0) for k, a in ids.items()}
        counters = Counters(day, counts.get("day", 0), month, counts.get("month", 0), counts.get("sca_count", 0),
                            counts.get("sca_amount", 0))  # fmt: skip
        ctx = Context(amount=units, currency=cur.code, now_ms=now_ms, channel=channel, age_band=profile.age_band,
                      payer_country=profile.country, counters=counters, evidence=evidence,
                      authenticated=capture, fraud_rate_ppm=risk.fraud_rate_ppm, risk_high=risk.high)  # fmt: skip
        decision = evaluate(policy, ctx)
        self._count(decision)
        return decision, ids, wanted, counters, day, month

    def _count(self, decision: Decision) -> None:
        rules = decision.refused_by if decision.outcome != ALLOW else (decision.sca_exemption or "",)
        with self._lock:
            for rule in rules or ("",):
                key = (decision.outcome, rule)
                self.decided[key] = self.decided.get(key, 0) + 1

    def _tax_base(
        self, merchant: str, place: str, kind: str, rate_ppm: int, inclusive: bool, period: str, cur: Currency
    ) -> int:
        """The counter account of a tax base (merchant, place of supply, rate, month), opened and
        registered for the period's return on first use."""
        base = derive_id("taxable", merchant, place, str(rate_ppm), period, cur.code)
        if base not in self._opened:
            self._open(cur, [(base, CODE_TAX_BASE)])
            self._tax_bases.add(TaxBase(base, merchant, place, kind, rate_ppm, inclusive, period, cur.code))
        return base

    def give_back(
        self, policy: Policy, payer: str, merchant: str, cur: Currency, units: int, paid_at_ms: int,
        decided: dict[str, object] | None, refund_id: int, now_ms: int,
    ) -> list[Transfer]:  # fmt: skip
        """Legs that undo a refunded amount's counting, to chain with the refund: the payer's spend of the
        payment's day and month and the room under its limits come back, and the gross leaves the tax
        base of the payment's month. If that month's return was closed already, the refund is an
        adjustment in the return of the refund's month instead: its base there goes down by the gross
        (below zero if need be: that return gives tax back). Only counters that exist are touched. The
        payment's day and month are those its decision recorded (the calendar at `paid_at_ms` otherwise)."""
        day, month = local_day_and_month(paid_at_ms, policy.timezone)
        if decided is not None and isinstance(decided.get("day"), str) and isinstance(decided.get("month"), str):
            day, month = str(decided["day"]), str(decided["month"])
        source = counter_source(cur.code)
        ledger = cur.ledger + COUNTER_LEDGER_OFFSET
        moves: list[tuple[int, int, int]] = [  # (from, to, code)
            (derive_id("spent-day", payer, cur.code, day), source, T_COUNT),
            (derive_id("spent-month", payer, cur.code, month), source, T_COUNT),
        ]
        for limit in policy.limits:
            period = {"day": day, "month": month}.get(limit.period)
            if period is not None:
                headroom = derive_id("headroom", payer, limit.id, period, str(limit.max_units))
                moves.append((source, headroom, T_HEADROOM))
        tax = decided.get("tax") if decided else None
        adjusted: set[int] = set()  # bases of a later return, that may go below zero
        now_month = local_day_and_month(now_ms, policy.timezone)[1]
        if isinstance(tax, dict):
            for b in self._tax_bases.of_merchant(merchant, str(tax["place"]), month, cur.code):
                if b.closed_ms is None:
                    moves.append((b.account_id, source, T_COUNT))
                    continue
                later = self._tax_base(merchant, b.place, b.kind, b.rate_ppm, b.inclusive, now_month, cur)
                moves.append((later, source, T_COUNT))
                adjusted.add(later)
        existing = self._ledger.balances_now([a for m in moves for a in m[:2] if a != source])
        legs = []
        for i, (debit, credit, code) in enumerate(moves):
            account = credit if debit == source else debit
            if account not in existing:
                continue
            if debit != source and debit not in adjusted:  # an accumulator gives back what it holds, at most
                held = existing[debit].credits_posted - existing[debit].debits_posted
                amount = min(units, held)
            else:
                amount = units
            if amount > 0:
                legs.append(Transfer(derive_id("give-back", str(refund_id), str(i)), debit, credit, amount, ledger,
                                     code))  # fmt: skip
        return legs

    def _epoch_name(self, payer: str, now_ms: int) -> str:
        """The payer's SCA epoch, as counter ids name it ("0" until its first strong authentication);
        remembered for `EPOCH_CACHE_MS` by a process alone on its ledger (it moves the epoch itself). With
        other processes on the ledger (`farthing serve --workers`), read every time: one that authenticated
        the payer starts a new epoch, and a payment here counted into the old one (whose count may be as
        low, if it too began lately) would split the payer's exempt payments over two counters, each
        under the limit."""
        cached = self._epochs.get(payer)
        if cached is not None and now_ms - cached[1] < EPOCH_CACHE_MS and not self._ledger.shared:
            return cached[0]
        may_block()
        name = self._sca.epoch(payer) or "0"
        if len(self._epochs) >= 100_000:
            self._epochs.clear()
        self._epochs[payer] = (name, now_ms)
        return name

    def strongly_authenticated(self, payer: str, now_ms: int) -> None:
        """The payer passed strong customer authentication: its SCA counters start again from zero."""
        self._epochs[payer] = (self._sca.bump(payer, now_ms), now_ms)

    def settled(self, gate: Gate) -> None:
        """The payment's batch answered (applied or not): it is no longer in flight here."""
        if gate.counted:
            self._in_flight.settled(gate.counted)

    def _open(self, cur: Currency, accounts: list[tuple[int, int]], flags: int = 0) -> None:
        """Open counter accounts (id, code) on first use, beside the currency's counter source: a ledger
        round trip per payer and period."""
        new = [(a, code) for a, code in accounts if a not in self._opened]
        if not new:
            return
        may_block()
        ledger = cur.ledger + COUNTER_LEDGER_OFFSET
        source = counter_source(cur.code)
        made = self._ledger.create_accounts(
            [Account(source, ledger, CODE_COUNTER_SOURCE)] + [Account(a, ledger, code, flags) for a, code in new]
        )
        if any(r not in (AccountResult.ok, AccountResult.exists) for r in made):
            raise RuntimeError(f"could not open counter accounts: {[r.name for r in made]}")
        _remember(self._opened, (a for a, _ in new))

    def fund_headroom(self, cur: Currency, headroom: int, amount: int) -> tuple[int, int]:
        """A headroom account (opened and funded once with `amount`) and the counter source to draw into:
        a transfer of n from it fails in the ledger once less than n is left, in any process."""
        self.fund_headrooms(cur, [(headroom, amount)])
        return headroom, counter_source(cur.code)

    def fund_headrooms(self, cur: Currency, wanted: Sequence[tuple[int, int]]) -> None:
        """Open limits' headroom accounts (for a payer or a device and a period), each funded once with
        what is left of its limit (`debits_must_not_exceed_credits`: a payment past it fails in the
        ledger, in any process): those not funded yet, in one round trip for the accounts and one for the
        funding. An id names its limit's amount, so a changed limit starts a headroom of its own."""
        new = {h: amount for h, amount in wanted if h not in self._funded}
        if not new:
            return
        may_block()
        self._open(cur, [(h, CODE_HEADROOM) for h in new], flags=int(AccountFlags.debits_must_not_exceed_credits))
        source = counter_source(cur.code)
        ledger = cur.ledger + COUNTER_LEDGER_OFFSET
        funds = [Transfer(derive_id("headroom-fund", str(h)), source, h, amount, ledger, T_FUND_HEADROOM)
                 for h, amount in new.items() if amount > 0]  # fmt: skip
        for funded in self._ledger.create_transfers(funds) if funds else []:
            # Another process may have funded it first, from its own count of what was spent: its amount
            # stands (every payment since draws on this same headroom).
            if funded is not TransferResult.ok and not funded.name.startswith("exists"):
                raise RuntimeError(f"could not fund a headroom account: {funded.name}")
        _remember(self._funded, new)


def _remember(known: set[int], ids: Iterable[int]) -> None:
    """Add to a bounded set of ids (emptied when full: each id forgotten is looked up once more)."""
    if len(known) >= KNOWN_ACCOUNTS_MAX:
        known.clear()
    known.update(ids)
