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

import math
import random
import tempfile
from collections.abc import Callable
from pathlib import Path

import pyotp
from nacl.signing import SigningKey

from farthing.bootstrap import Platform, open_platform
from farthing.domain.channels import rules, vouchers
from farthing.domain.channels.rules import Form
from farthing.domain.channels.vouchers import Voucher
from farthing.domain.money import Currency, Money, currency
from farthing.domain.policy.evaluate import Evidence
from farthing.domain.principals import MERCHANT_SCOPES, Principal
from farthing.domain.risk.velocity import Velocity
from farthing.errors import PlatformError
from farthing.services import heap
from farthing.services.accounts import CODE_CARD_FEES, CODE_FEE_REVENUE
from farthing.services.amounts import positive_money
from farthing.services.channel_model import OpenChannel
from farthing.services.ledger import scratch_ledger_url
from farthing.services.payments.model import Payment, PaymentItem
from farthing.sim.agents import (
    GOOD_CARD,
    OPERATOR,
    REFUSALS,
    Consumer,
    Day,
    Result,
    SimChannel,
    changed,
    month_of,
    poisson,
    totals,
)
from farthing.sim.device_link import InProcess, ThroughGateway
from farthing.sim.devices import DeviceUses
from farthing.sim.fraud import Fraud
from farthing.sim.scenario import Scenario

CHANNEL_DAYS = 7
"""A simulated channel lasts a week (its hold, plus a day to redeem, within the ledger's 31-day maximum)."""
START_MS = 1_798_761_600_000  # 2027-01-01T00:00:00Z: every run starts on the same calendar
HOUR_MS = 3_600_000


def run(
    s: Scenario, folder: Path | None = None, progress: Callable[[int, int], None] | None = None,
    postgres: str | None = None, broker: str | None = None,
) -> Result:  # fmt: skip
    """Run the scenario's world on a ledger of its own: a temporary SQLite file (in `folder` if given),
    or with `postgres` a schema created in that PostgreSQL database for the run and dropped after it.
    With `broker` (an MQTT URL), devices that pay with signed requests publish them there, to the MQTT
    gateway and the platform's HTTP API, both run for the world (`farthing.sim.device_link`)."""
    own = folder is None
    tmp = tempfile.TemporaryDirectory(prefix="farthing-sim-") if own else None
    where = Path(tmp.name) if tmp else folder
    assert where is not None
    try:
        with scratch_ledger_url(where, postgres) as url:
            return _run_on(s, url, where, progress, broker)
    finally:
        if tmp is not None:
            tmp.cleanup()


def _run_on(
    s: Scenario, url: str, where: Path, progress: Callable[[int, int], None] | None, broker: str | None
) -> Result:
    now = [START_MS]
    # One caller that waits for each answer: a group commit waiting for company would only add latency
    # (a step-up's capture, a top-up: 524 -> 719 payments/s in the eu-de bench world).
    platform = open_platform(
        url,
        s.scenario.policies,
        commit_wait_ms=0,
        keys_beside=f"{where}/sim",
        clock=lambda: now[0],
        topup_guard=Velocity() if s.payments.top_up_guard else None,
        adjust=lambda policy: changed(policy, s),
    )  # the simulated clock, the ledger's too
    cur = currency(s.scenario.currency)
    link: InProcess | ThroughGateway | None = None
    try:
        link = ThroughGateway(platform, broker) if broker and any(d.pays == "signed" for d in s.devices) else None
        with heap.settled():  # 22.5k -> 24.5k payments/s in bench/sim.py's us world
            return _World(s, platform, cur, now, link or InProcess(platform)).run(progress)
    finally:
        if link is not None:
            link.close()
        platform.close()


class _World(Fraud, DeviceUses):
    def __init__(
        self, s: Scenario, platform: Platform, cur: Currency, now: list[int], link: InProcess | ThroughGateway
    ) -> None:
        self.s, self.platform, self.device_link = s, platform, link
        self.folds = any(p.tra is not None for p in platform.policy.policies.values())
        """A pack exempts by transaction-risk analysis, which reads the platform's fraud rate from the history."""
        self.holds, self.step_ups, factors = platform.holds, platform.step_ups, platform.identity.factors
        self.cur, self.now = cur, now
        self.top_up = cur.parse(s.payments.top_up)
        self.top_up_below = cur.parse(s.payments.top_up_when_below)
        seed = s.scenario.seed
        self.merchants: list[tuple[str, int]] = []
        self.merchant_keys: dict[str, Principal] = {}
        for m in s.merchants:
            for _ in range(m.count):
                merchant, key, _ = platform.parties.create(OPERATOR, "merchant", "Sim merchant", m.country)
                self.merchants.append((merchant, cur.parse(m.price)))
                self.merchant_keys[merchant] = Principal(key, "merchant", merchant, "test", MERCHANT_SCOPES)
        self.channels = platform.channels if s.payments.path == "channel" else None
        self.open_channels: dict[tuple[int, str], SimChannel] = {}
        self.deposit = cur.parse(s.payments.channel_deposit)
        self.consumers: list[Consumer] = []
        number = 0
        for g, c in enumerate(s.consumers):
            median = cur.parse(c.willingness_to_pay)
            for _ in range(c.count):
                rng = random.Random(f"{seed}:consumer:{number}")
                number += 1
                party, key, _ = platform.parties.create(OPERATOR, "customer", "Sim consumer", c.country)
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
        self.dispute_rng = random.Random(f"{seed}:disputes")
        """Which thefts their victims dispute: a stream of its own, so the attacks draw the same either way."""
        self.fraudsters: list[Principal] = []
        home = s.merchants[0].country
        for _ in self.fraud_rngs:
            party, key, _ = platform.parties.create(OPERATOR, "customer", "Sim fraudster", home)
            self.fraudsters.append(
                Principal(key, "customer", party, "test", frozenset({"topups:write", "payments:write"}))
            )
        self.mule, mule_key, _ = platform.parties.create(OPERATOR, "merchant", "Sim colluding merchant", home)
        self.mule_key = Principal(mule_key, "merchant", self.mule, "test", MERCHANT_SCOPES)
        if any(f.cash_out for f in s.fraudsters):
            platform.payouts.set_account(self.mule_key, "Sim colluding merchant", "DE89 3704 0044 0532 0130 00")
        self.thefts: list[tuple[Consumer, str]] = []
        """Payments stolen from consumers' wallets today, that their victims dispute tomorrow."""
        self.devices = self._devices()
        self.hourly = [group.hourly_means() for group in s.consumers]
        self.budgets = [cur.parse(g.budget_per_month) if g.budget_per_month is not None else None for g in s.consumers]
        self.hours = [0] * 24
        self.items: dict[tuple[str, int], PaymentItem] = {}
        """(merchant, consumer group) -> what its consumers buy there."""
        self.bursts: dict[int, int] = {}
        """Card tester -> the hour its attack starts, today."""
        self.transfers_seen = self._transfers()

    def _transfers(self) -> int:
        return int(self.platform.db.query("SELECT count(*) FROM transfers")[0][0])

    def _balance(self, code: int) -> int:
        [state] = self.platform.ledger.accounts([self.platform.accounts.platform_account(code, self.cur, "test")])
        return state.credits_posted - state.debits_posted if code == CODE_FEE_REVENUE else state.debits_posted

    def run(self, progress: Callable[[int, int], None] | None) -> Result:
        days = []
        fees_before, cost_before = self._balance(CODE_FEE_REVENUE), self._balance(CODE_CARD_FEES)
        for d in range(self.s.scenario.days):
            day = Day(d + 1)
            for hour in range(24):
                self.now[0] = START_MS + (d * 24 + hour) * HOUR_MS
                if self.folds:  # the history as a server keeps it, close behind: what the fraud rate reads
                    self.platform.history.catch_up()
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
        month = month_of(now)
        for consumer in self.consumers:
            group = self.s.consumers[consumer.group]
            mental = self.cur.parse(group.mental_cost)
            budget = self.budgets[consumer.group]
            for _ in range(poisson(consumer.rng, self.hourly[consumer.group][hour])):
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
                item = PaymentItem(merchant, Money(price, self.cur), evidence=Evidence(ip=country))
                items[merchant, consumer.group] = item
            batch.append((consumer.principal, item, None))
        paid = 0
        for (consumer, _, price), done in zip(
            intents, self.platform.batches.pay_many(batch, step_up=True), strict=True
        ):
            if isinstance(done, PlatformError):
                self._refused(day, done, consumer, price)
                continue
            if done.status == "requires_authentication":
                answered = self._step_up(day, consumer, done.id)
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
            self.platform.topups.top_up(
                consumer.principal, positive_money(self.s.payments.top_up, self.cur.code), GOOD_CARD
            )
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
                cmd = OpenChannel(merchant, Money(max(self.deposit, price), self.cur), Form.voucher,
                                  CHANNEL_DAYS * 86_400, 86_400, bytes(key.verify_key))  # fmt: skip
                try:
                    opened = self.channels.open(consumer.principal, cmd, None)
                except PlatformError as refused:
                    self._refused(day, refused, consumer, price)
                    continue
                consumer.balance -= opened.deposit
                ch = SimChannel(opened.id, opened.terms, key, consumer, self.merchant_keys[merchant], opened.created_ms)
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

    def _redeem(self, ch: SimChannel, close: bool) -> None:
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
        if refused.code not in REFUSALS:
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

    def _step_up(self, day: Day, consumer: Consumer, payment_id: str) -> Payment | None:
        day.step_ups += 1
        group = self.s.consumers[consumer.group]
        if consumer.totp is None or consumer.rng.random() < group.abandon_on_challenge:
            day.abandoned += 1
            self.holds.void(consumer.principal, payment_id)
            return None
        step = max(self.now[0] // 30_000, consumer.last_step + 1)  # a code is good once: the next 30-s step
        consumer.last_step = step
        saved = self.now[0]
        self.now[0] = step * 30_000
        try:
            return self.step_ups.authenticate(consumer.principal, payment_id, code=consumer.totp.at(step * 30))
        except PlatformError:  # too late for this challenge (many in one hour): the purchase is lost
            day.abandoned += 1
            return None
        finally:
            self.now[0] = saved
