"""One simulated world, driven through the real services on a temporary SQLite ledger.

Time is simulated: each day has 24 hourly ticks, the platform's clock is set to the tick (never read
from the wall), and each agent draws from a random stream of its own, seeded from the scenario's seed
and the agent's number, so two runs that differ by one parameter face the same draws (common random
numbers). Within a tick every purchase is submitted at once and the group committer writes them
together; step-ups are then answered (or abandoned) one by one.

Consumers decide by Szabo's mental transaction cost: they buy an item when what they would pay for it
covers its price plus the cost of deciding to pay at all (none when the item is free). They top up
their wallet by card when it runs low; the card's 2.9 % + 30¢ is the processing cost. A payment the
policy steps up is abandoned with the scenario's probability or answered with the consumer's TOTP code.
Card testers try stolen cards with small top-ups: most are declined (stopped), the rest is lost.
Devices pay a device service per use under their owner's allowance, and stop at its caps. A merchant
colluding with a card thief tries to refund more than was paid: the ledger refuses it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import random
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pyotp
from nacl.signing import SigningKey

from farthing import limits
from farthing.domain.channels import rules, vouchers
from farthing.domain.channels.rules import Accepted, Form, Terms
from farthing.domain.channels.vouchers import Voucher
from farthing.domain.money import currency
from farthing.domain.policy.evaluate import Evidence
from farthing.domain.policy.model import Policy
from farthing.domain.risk.velocity import Velocity
from farthing.errors import ErrorCode
from farthing.services import heap
from farthing.services.allowances import Allowances
from farthing.services.channels import Channels, OpenChannel
from farthing.services.factors import Factors
from farthing.services.holds import Holds
from farthing.services.ledger import scratch_ledger_url
from farthing.services.platform import (
    CODE_CARD_FEES,
    CODE_FEE_REVENUE,
    MERCHANT_SCOPES,
    Payment,
    PaymentItem,
    PlatformError,
    Principal,
    open_platform,
)
from farthing.services.refunds import refund
from farthing.services.stepup import StepUps
from farthing.sim.scenario import Fraudsters, Scenario, ScenarioError

CHANNEL_DAYS = 7
"""A simulated channel lasts a week (its hold, plus a day to redeem, within the ledger's 31-day maximum)."""
START_MS = 1_798_761_600_000  # 2027-01-01T00:00:00Z: every run starts on the same calendar
HOUR_MS = 3_600_000
GOOD_CARD, DECLINED_CARD = "4242424242424242", "4000000000000002"

OPERATOR = Principal("sim", "operator", None, "test", frozenset({"parties:write"}))


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
    fraud_paused: int = 0
    """Fraud attempts the top-up velocity guard refused before they reached the card network."""
    ledger_transfers: int = 0
    device_payments: int = 0
    """Payments devices made under their owners' allowances (counted in `payments` too)."""
    device_capped: int = 0
    """Device uses refused: past the owner's allowance, with nobody there to authenticate."""

    def as_row(self, scale: int) -> dict[str, float | int]:
        row: dict[str, float | int] = {}
        for k, v in dataclasses.asdict(self).items():
            row[k] = v / scale if k in MONEY_METRICS else v
        return row


MONEY_METRICS = ("value", "platform_fees", "processing_cost", "fraud_lost")
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
class _Channel:
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
class _Device:
    rng: random.Random
    owner: Consumer
    service: Principal
    allowance: str
    uses_per_day: float
    price: int


@dataclass
class Result:
    scenario: Scenario
    days: list[Day]
    totals: dict[str, float] = field(default_factory=dict)
    hours: list[int] = field(default_factory=lambda: [0] * 24)
    """Payments by hour of the day (simulated clock, midnight first), over the whole run."""


def _month(ms: int) -> int:
    """The calendar month (UTC) of the simulated instant, as months since year 0."""
    t = time.gmtime(ms // 1000)
    return t.tm_year * 12 + t.tm_mon - 1


def _poisson(rng: random.Random, mean: float) -> int:
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


def run(
    s: Scenario, folder: Path | None = None, progress: Callable[[int, int], None] | None = None,
    postgres: str | None = None,
) -> Result:  # fmt: skip
    """Run the scenario's world on a ledger of its own: a temporary SQLite file (in `folder` if given),
    or with `postgres` a schema created in that PostgreSQL database for the run and dropped after it."""
    own = folder is None
    tmp = tempfile.TemporaryDirectory(prefix="farthing-sim-") if own else None
    where = Path(tmp.name) if tmp else folder
    assert where is not None
    try:
        with scratch_ledger_url(where, postgres) as url:
            return _run_on(s, url, where, progress)
    finally:
        if tmp is not None:
            tmp.cleanup()


def _run_on(s: Scenario, url: str, where: Path, progress: Callable[[int, int], None] | None) -> Result:
    now = [START_MS]
    # One caller that waits for each answer: a group commit waiting for company would only add latency
    # (a step-up's capture, a top-up: 524 -> 719 payments/s in the eu-de bench world).
    platform = open_platform(
        url, s.scenario.policies, commit_wait_ms=0, keys_beside=f"{where}/sim", clock=lambda: now[0]
    )  # the simulated clock, the ledger's too
    platform.topup_guard = Velocity() if s.payments.top_up_guard else None
    for code, policy in list(platform.policy.policies.items()):
        platform.policy.policies[code] = changed(policy, s)
    holds = Holds.open(platform)
    factors = Factors(platform)
    step_ups = StepUps(platform, holds, factors)
    cur = currency(s.scenario.currency)
    world = None
    try:
        with heap.settled():  # 22.5k -> 24.5k payments/s in bench/sim.py's us world
            world = _World(s, platform, holds, factors, step_ups, cur, now)
            return world.run(progress)
    finally:
        if world is not None and world.channels is not None:
            world.channels.close()
        holds.close()
        platform.close()


class _World:
    def __init__(self, s, platform, holds, factors, step_ups, cur, now) -> None:  # type: ignore[no-untyped-def]
        self.s, self.platform, self.holds, self.factors, self.step_ups = s, platform, holds, factors, step_ups
        self.cur, self.now = cur, now
        self.top_up = cur.parse(s.payments.top_up)
        self.top_up_below = cur.parse(s.payments.top_up_when_below)
        seed = s.scenario.seed
        self.merchants: list[tuple[str, int]] = []
        self.merchant_keys: dict[str, Principal] = {}
        for m in s.merchants:
            for _ in range(m.count):
                merchant, key, _ = platform.create_party(OPERATOR, "merchant", "Sim merchant", m.country)
                self.merchants.append((merchant, cur.parse(m.price)))
                self.merchant_keys[merchant] = Principal(key, "merchant", merchant, "test", MERCHANT_SCOPES)
        self.channels = Channels(platform) if s.payments.path == "channel" else None
        self.open_channels: dict[tuple[int, str], _Channel] = {}
        self.deposit = cur.parse(s.payments.channel_deposit)
        self.consumers: list[Consumer] = []
        number = 0
        for g, c in enumerate(s.consumers):
            median = cur.parse(c.willingness_to_pay)
            for _ in range(c.count):
                rng = random.Random(f"{seed}:consumer:{number}")
                number += 1
                party, key, _ = platform.create_party(OPERATOR, "customer", "Sim consumer", c.country)
                principal = Principal(key, "customer", party, "test", frozenset({"payments:write", "topups:write"}))
                willingness = round(median * math.exp(rng.gauss(0, 0.5)))
                consumer = Consumer(principal, rng, g, willingness)
                if rng.random() < c.has_second_factor:
                    enrolled = factors.enrol_totp(principal, qr=False)
                    consumer.totp = pyotp.TOTP(enrolled.secret)
                    factors.confirm_totp(principal, enrolled.factor_id, consumer.totp.at(now[0] // 1000))
                    consumer.last_step = now[0] // 30_000
                self.consumers.append(consumer)
        self.fraud_rngs = [random.Random(f"{seed}:fraud:{i}") for i in range(sum(f.count for f in s.fraudsters))]
        self.fraudsters: list[Principal] = []
        home = s.merchants[0].country
        for _ in self.fraud_rngs:
            party, key, _ = platform.create_party(OPERATOR, "customer", "Sim fraudster", home)
            self.fraudsters.append(
                Principal(key, "customer", party, "test", frozenset({"topups:write", "payments:write"}))
            )
        self.mule, mule_key, _ = platform.create_party(OPERATOR, "merchant", "Sim colluding merchant", home)
        self.mule_key = Principal(mule_key, "merchant", self.mule, "test", MERCHANT_SCOPES)
        self.devices = self._devices()
        self.hourly = [group.hourly_means() for group in s.consumers]
        self.budgets = [cur.parse(g.budget_per_month) if g.budget_per_month is not None else None for g in s.consumers]
        self.hours = [0] * 24
        self.items: dict[tuple[str, int], PaymentItem] = {}
        """(merchant, consumer group) -> what its consumers buy there."""
        self.bursts: dict[int, int] = {}
        """Card tester -> the hour its attack starts, today."""
        self.transfers_seen = self._transfers()

    def _devices(self) -> list[_Device]:
        """Each device's owner (the consumers in turn) grants the device service an allowance."""
        allowances, devices = Allowances(self.platform), []
        lasts_s = min((self.s.scenario.days + 1) * 86_400, limits.allowance_s_max)
        for g, spec in enumerate(self.s.devices):
            name = f"Sim device service {g}"
            service, key, _ = self.platform.create_party(OPERATOR, "merchant", name, self.s.merchants[0].country)
            principal = Principal(key, "merchant", service, "test", MERCHANT_SCOPES)
            for _ in range(spec.count):
                owner = self.consumers[len(devices) % len(self.consumers)]
                country = self.s.consumers[owner.group].country
                granted = allowances.grant(owner.principal, service, self.cur.code, spec.price, spec.per_day,
                                           spec.total, lasts_s, Evidence(ip=country))  # fmt: skip
                rng = random.Random(f"{self.s.scenario.seed}:device:{len(devices)}")
                devices.append(_Device(rng, owner, principal, granted.id, spec.uses_per_day,
                                       self.cur.parse(spec.price)))  # fmt: skip
        self.allowances = allowances
        return devices

    def _transfers(self) -> int:
        return int(self.platform.db.query("SELECT count(*) FROM transfers")[0][0])

    def _balance(self, code: int) -> int:
        [state] = self.platform.ledger.accounts([self.platform.platform_account(code, self.cur)])
        return state.credits_posted - state.debits_posted if code == CODE_FEE_REVENUE else state.debits_posted

    def run(self, progress: Callable[[int, int], None] | None) -> Result:
        days = []
        fees_before, cost_before = self._balance(CODE_FEE_REVENUE), self._balance(CODE_CARD_FEES)
        for d in range(self.s.scenario.days):
            day = Day(d + 1)
            for hour in range(24):
                self.now[0] = START_MS + (d * 24 + hour) * HOUR_MS
                self._tick(day)
            fees, cost = self._balance(CODE_FEE_REVENUE), self._balance(CODE_CARD_FEES)
            day.platform_fees, day.processing_cost = fees - fees_before, cost - cost_before
            fees_before, cost_before = fees, cost
            transfers = self._transfers()
            day.ledger_transfers, self.transfers_seen = transfers - self.transfers_seen, transfers
            days.append(day)
            if progress is not None:
                progress(d + 1, self.s.scenario.days)
        return Result(self.s, days, totals(days, self.cur.units_per_major), self.hours)

    def _hour(self) -> int:
        """The hour of the simulated day (0 at midnight)."""
        return (self.now[0] - START_MS) // HOUR_MS % 24

    def _tick(self, day: Day) -> None:
        intents: list[tuple[Consumer, str, int]] = []
        now = self.now[0]
        hour = self._hour()
        month = _month(now)
        for consumer in self.consumers:
            group = self.s.consumers[consumer.group]
            mental = self.cur.parse(group.mental_cost)
            budget = self.budgets[consumer.group]
            for _ in range(_poisson(consumer.rng, self.hourly[consumer.group][hour])):
                merchant, price = self.merchants[consumer.rng.randrange(len(self.merchants))]
                if consumer.away_until_ms > now:
                    day.walked_away += 1
                    continue
                if consumer.willingness < price + (mental if price else 0):
                    day.declined_by_price += 1
                    continue
                if budget is not None and price:
                    if consumer.month != month:
                        consumer.month, consumer.spent = month, 0
                    if consumer.spent + price > budget:
                        day.declined_by_budget += 1
                        continue
                    consumer.spent += price  # held for this purchase; given back if it does not happen
                day.attempts += 1
                if price == 0:
                    continue  # free: consumed, nothing to pay
                intents.append((consumer, merchant, price))
        reserved: dict[int, int] = {}
        for consumer, _, price in intents:  # top up first, for everything this hour's purchases will take
            held = reserved.get(id(consumer), 0)
            self._fund(day, consumer, held + max(price, self.top_up_below))
            reserved[id(consumer)] = held + price
        if self.channels is not None:
            self._pay_by_channel(day, intents)
            self._device_uses(day)
            self._card_testing(day)
            return
        batch = []
        items = self.items
        for consumer, merchant, price in intents:
            item = items.get((merchant, consumer.group))
            if item is None:  # the same purchase is the same (immutable) item every time: made once
                country = self.s.consumers[consumer.group].country
                item = PaymentItem(merchant, self.cur.format(price), self.cur.code, evidence=Evidence(ip=country))
                items[merchant, consumer.group] = item
            batch.append((consumer.principal, item, None))
        paid = 0
        for (consumer, _, price), done in zip(intents, self.platform.pay_many(batch, step_up=True), strict=True):
            if isinstance(done, PlatformError):
                self._refused(day, done, consumer, price)
                continue
            if done.status == "requires_authentication":
                answered = self._step_up(day, consumer, done)
                if answered is None:
                    self._not_bought(consumer, price)
                    continue
            consumer.balance -= price
            paid += 1
            day.value += price
        day.payments += paid
        self.hours[hour] += paid
        self._device_uses(day)
        self._card_testing(day)

    def _fund(self, day: Day, consumer: Consumer, needed: int) -> None:
        """Top the consumer's wallet up by card until it holds `needed`."""
        while consumer.balance < needed:
            self.platform.top_up(consumer.principal, self.s.payments.top_up, self.cur.code, GOOD_CARD)
            consumer.balance += self.top_up
            day.top_ups += 1

    def _pay_by_channel(self, day: Day, intents: list[tuple[Consumer, str, int]]) -> None:
        """Each payment is a voucher on the consumer's channel to the merchant, checked by the merchant's
        rule on its own; the ledger sees the channel opened and, daily, redeemed."""
        assert self.channels is not None
        for consumer, merchant, price in intents:
            ch = self.open_channels.get((id(consumer), merchant))
            if ch is not None and ch.paid + price > ch.terms.deposit:
                self._redeem(ch, close=True)
                ch = None
            if ch is None:
                self._fund(day, consumer, max(self.deposit, price))
                key = SigningKey.generate()  # not from the consumer's stream: runs stay comparable
                cmd = OpenChannel(merchant, self.cur.code, self.cur.format(max(self.deposit, price)), Form.voucher,
                                  CHANNEL_DAYS * 86_400, 86_400, bytes(key.verify_key))  # fmt: skip
                try:
                    opened = self.channels.open(consumer.principal, cmd, None)
                except PlatformError as refused:
                    self._refused(day, refused, consumer, price)
                    continue
                consumer.balance -= opened.deposit
                ch = _Channel(opened.id, opened.terms, key, consumer, self.merchant_keys[merchant], opened.created_ms)
                self.open_channels[(id(consumer), merchant)] = ch
            voucher = vouchers.sign(ch.key, ch.terms.channel_id, ch.paid + price, ch.sequence + 1)
            ch.mark = rules.accept(ch.terms, ch.mark, voucher, self.now[0], price=price)  # the merchant's check
            ch.paid, ch.sequence = ch.paid + price, ch.sequence + 1
            day.payments += 1
            day.value += price
            self.hours[self._hour()] += 1
        if self.now[0] % (24 * HOUR_MS) == 23 * HOUR_MS:  # the day's last tick: merchants redeem
            for ch in list(self.open_channels.values()):
                old = self.now[0] - ch.created_ms >= (CHANNEL_DAYS - 1) * 86_400_000
                self._redeem(ch, close=old)  # a closed one leaves open_channels

    def _redeem(self, ch: _Channel, close: bool) -> None:
        assert self.channels is not None
        if ch.mark.amount > ch.redeemed or close:
            voucher = Voucher(ch.terms.channel_id, ch.mark.amount, ch.mark.sequence, ch.mark.proof)
            done = self.channels.redeem(ch.merchant, ch.id, voucher if ch.mark.amount > ch.redeemed else None, close)
            ch.redeemed = done.channel.redeemed
        if close:
            self.open_channels.pop((id(ch.payer), ch.merchant.party_id or ""), None)
            ch.payer.balance += ch.terms.deposit - ch.mark.amount  # the rest comes back

    def _refused(self, day: Day, refused: PlatformError, consumer: Consumer, price: int) -> None:
        """An honest payment refused: counted; the consumer may give up for the rest of the day."""
        if refused.code not in _REFUSALS:
            raise refused
        day.honest_refused += 1
        self._not_bought(consumer, price)
        quits = self.s.consumers[consumer.group].abandon_on_refusal
        if quits and consumer.rng.random() < quits:  # drawn only where it can matter: other runs' streams stay
            consumer.away_until_ms = START_MS + ((self.now[0] - START_MS) // (24 * HOUR_MS) + 1) * 24 * HOUR_MS

    def _not_bought(self, consumer: Consumer, price: int) -> None:
        """A purchase that did not happen gives its room in the monthly budget back."""
        if self.budgets[consumer.group] is not None:
            consumer.spent -= price

    def _step_up(self, day: Day, consumer: Consumer, payment: Payment) -> Payment | None:
        day.step_ups += 1
        group = self.s.consumers[consumer.group]
        if consumer.totp is None or consumer.rng.random() < group.abandon_on_challenge:
            day.abandoned += 1
            self.holds.void(consumer.principal, payment.id)
            return None
        step = max(self.now[0] // 30_000, consumer.last_step + 1)  # a code is good once: the next 30-s step
        consumer.last_step = step
        saved = self.now[0]
        self.now[0] = step * 30_000
        try:
            return self.step_ups.authenticate(consumer.principal, payment.id, code=consumer.totp.at(step * 30))
        except PlatformError:  # too late for this challenge (many in one hour): the purchase is lost
            day.abandoned += 1
            return None
        finally:
            self.now[0] = saved

    def _card_testing(self, day: Day) -> None:
        specs = [f for f in self.s.fraudsters for _ in range(f.count)]
        hour = self._hour()
        for i, (rng, principal, spec) in enumerate(zip(self.fraud_rngs, self.fraudsters, specs, strict=True)):
            if spec.kind == "account_takeover":
                self._takeover(day, rng, spec)
                continue
            if spec.kind == "refund_collusion":
                self._collusion(day, rng, spec, principal)
                continue
            if hour == 0:  # a day's attack comes in a burst, from an hour of the tester's choosing
                self.bursts[i] = rng.randrange(24) if spec.burst_hours < 24 else 0
            if (hour - self.bursts.get(i, 0)) % 24 >= spec.burst_hours:
                continue
            for _ in range(_poisson(rng, spec.attempts_per_day / spec.burst_hours)):
                day.fraud_attempted += 1
                card = GOOD_CARD if rng.random() < spec.stolen_card_share else DECLINED_CARD
                try:
                    self.platform.top_up(principal, spec.test_amount, self.cur.code, card)
                except PlatformError as refused:
                    day.fraud_stopped += 1
                    if refused.code is ErrorCode.topups_paused:
                        day.fraud_paused += 1
                    continue
                day.fraud_lost += self.cur.parse(spec.test_amount)  # charged back later: the platform's loss

    def _takeover(self, day: Day, rng: random.Random, spec: Fraudsters) -> None:
        """Stolen credentials: the thief pays a colluding merchant out of a victim's wallet. The policy's
        limits refuse past the cap; a step-up stops it (the thief has no second factor); funds run out."""
        amount = self.cur.parse(spec.takeover_amount)
        for _ in range(_poisson(rng, spec.attempts_per_day / 24)):
            victim = self.consumers[rng.randrange(len(self.consumers))]
            day.fraud_attempted += 1
            country = self.s.consumers[victim.group].country
            item = PaymentItem(self.mule, self.cur.format(amount), self.cur.code, evidence=Evidence(ip=country))
            try:
                paid = self.platform.pay(victim.principal, item, None)
            except PlatformError:
                day.fraud_stopped += 1
                continue
            if paid.status == "requires_authentication":
                self.holds.void(victim.principal, paid.id)
                day.fraud_stopped += 1
                continue
            victim.balance -= amount
            day.fraud_lost += amount

    def _device_uses(self, day: Day) -> None:
        """Each device's uses this hour, charged by its service under the owner's allowance."""
        for dev in self.devices:
            for _ in range(_poisson(dev.rng, dev.uses_per_day / 24)):
                owner = dev.owner
                self._fund(day, owner, dev.price)
                try:
                    charged = self.allowances.charge(dev.service, dev.allowance, self.cur.format(dev.price), None,
                                                     None)  # fmt: skip
                except PlatformError as refused:  # past the caps, and the owner has no second factor
                    if refused.code not in _REFUSALS:
                        raise
                    day.device_capped += 1
                    continue
                if not charged.within:  # it waits for the owner, who is not there: the use is refused
                    self.holds.void(owner.principal, charged.payment.id)
                    day.device_capped += 1
                    continue
                owner.balance -= dev.price
                day.payments += 1
                day.device_payments += 1
                day.value += dev.price
                self.hours[self._hour()] += 1

    def _collusion(self, day: Day, rng: random.Random, spec: Fraudsters, accomplice: Principal) -> None:
        """A merchant colluding with a card thief: a stolen card funds the accomplice's wallet, the
        accomplice buys from the merchant, and the merchant refunds twice what was paid (to launder it,
        or to multiply it). A refund goes only back to the wallet it came from and never passes what was
        paid, so the ledger refuses it; what is lost is the stolen card's top-up, charged back later."""
        amount = self.cur.parse(spec.test_amount)
        for _ in range(_poisson(rng, spec.attempts_per_day / 24)):
            day.fraud_attempted += 1
            card = GOOD_CARD if rng.random() < spec.stolen_card_share else DECLINED_CARD
            try:
                self.platform.top_up(accomplice, spec.test_amount, self.cur.code, card)
            except PlatformError:
                day.fraud_stopped += 1
                continue
            day.fraud_lost += amount  # the card's owner disputes it: the platform's loss
            try:
                paid = self.platform.pay(accomplice, PaymentItem(self.mule, spec.test_amount, self.cur.code,
                                                                 evidence=Evidence(ip=self.s.merchants[0].country)),
                                         None)  # fmt: skip
                refund(self.holds, self.mule_key, paid.id, self.cur.format(2 * amount), None)
            except PlatformError as refused:
                if refused.code not in (*_REFUSALS, ErrorCode.refund_exceeds_payment):
                    raise
                day.fraud_stopped += 1
                continue
            day.fraud_lost += amount  # an over-refund that passed (never, while the ledger holds)


_REFUSALS = (ErrorCode.policy_denied, ErrorCode.authentication_required, ErrorCode.insufficient_funds)


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
    if not s.policy.sca_exemption:
        sca = tuple(dataclasses.replace(rule, single_max=0, cumulative_max=0, consecutive_max=0) for rule in sca)
        tra = None
    if limits == policy.limits and sca == policy.sca and tra == policy.tra:
        return policy
    change = json.dumps(
        {"limits": s.policy.limits, "sca_exemption": s.policy.sca_exemption, "sca_single_max": s.policy.sca_single_max},
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
    t["conversion"] = t["payments"] / t["attempts"] if t["attempts"] else 0.0
    t["ledger_transfers_per_payment"] = t["ledger_transfers"] / t["payments"] if t["payments"] else 0.0
    return t
