"""The fraudsters of a simulated world: card testers, account takeovers and a colluding merchant.

A mixin of `farthing.sim.run`'s world: each attack drives the real services, and what the platform
stops or loses is counted in the day's figures."""

from __future__ import annotations

import datetime
import random

from farthing.domain.money import Money
from farthing.domain.policy.evaluate import Evidence
from farthing.domain.principals import Principal
from farthing.errors import ErrorCode, PlatformError
from farthing.services.amounts import positive_money
from farthing.services.payments.model import PaymentItem
from farthing.services.payout_rails import TestRail
from farthing.sim.agents import DECLINED_CARD, GOOD_CARD, REFUSALS, Day, poisson
from farthing.sim.scenario import Fraudsters

OPERATOR_DISPUTES = Principal("sim", "operator", None, "test", frozenset({"parties:write", "read"}))
"""The card processor's side: disputes decided, payouts confirmed."""


class Fraud:
    """The world's attacks (its state is the world's: see `farthing.sim.run`)."""

    def _card_testing(self, day: Day) -> None:
        specs = [f for f in self.s.fraudsters for _ in range(f.count)]
        hour = self._hour()
        if hour == 0 and self.thefts:
            self._disputes(day)
        if hour == 23 and any(f.cash_out for f in self.s.fraudsters):
            self._cash_out()
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
            for _ in range(poisson(rng, spec.attempts_per_day / spec.burst_hours)):
                day.fraud_attempted += 1
                card = GOOD_CARD if rng.random() < spec.stolen_card_share else DECLINED_CARD
                try:
                    self.platform.topups.top_up(principal, positive_money(spec.test_amount, self.cur.code), card)
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
        for _ in range(poisson(rng, spec.attempts_per_day / 24)):
            victim = self.consumers[rng.randrange(len(self.consumers))]
            day.fraud_attempted += 1
            country = self.s.consumers[victim.group].country
            item = PaymentItem(self.mule, Money(amount, self.cur), evidence=Evidence(ip=country))
            try:
                paid = self.platform.payments.pay(victim.principal, item, None)
            except PlatformError:
                day.fraud_stopped += 1
                continue
            if paid.status == "requires_authentication":
                self.holds.void(victim.principal, paid.id)
                day.fraud_stopped += 1
                continue
            victim.balance -= amount
            day.fraud_lost += amount
            if spec.disputed_share and self.dispute_rng.random() < spec.disputed_share:  # disputed tomorrow
                self.thefts.append((victim, paid.id))

    def _disputes(self, day: Day) -> None:
        """Yesterday's thefts disputed by their victims and lost by the colluding merchant (through the real
        disputes service): the victim is paid back, from the merchant's balance while it lasts, then by the
        platform, whose part is its loss."""
        for victim, payment in self.thefts:
            opened = self.platform.disputes.open(victim.principal, payment, None, "fraudulent")
            self.platform.disputes.decide(OPERATOR_DISPUTES, opened.id, "lost")
            victim.balance += opened.amount
            day.disputes += 1
            day.dispute_lost += opened.from_platform
        self.thefts = []

    def _cash_out(self) -> None:
        """The colluding merchant takes its balance to the bank every night (a rail that pays at once)."""
        try:
            self.platform.payouts.create(self.mule_key, self.cur.code)
        except PlatformError:
            return  # nothing to pay out
        today = datetime.datetime.fromtimestamp(self.now[0] // 1000, datetime.UTC).date()
        self.platform.payouts.send(OPERATOR_DISPUTES, TestRail(), today)

    def _collusion(self, day: Day, rng: random.Random, spec: Fraudsters, accomplice: Principal) -> None:
        """A merchant colluding with a card thief: a stolen card funds the accomplice's wallet, the
        accomplice buys from the merchant, and the merchant refunds twice what was paid (to launder it,
        or to multiply it). A refund goes only back to the wallet it came from and never passes what was
        paid, so the ledger refuses it; what is lost is the stolen card's top-up, charged back later."""
        amount = self.cur.parse(spec.test_amount)
        for _ in range(poisson(rng, spec.attempts_per_day / 24)):
            day.fraud_attempted += 1
            card = GOOD_CARD if rng.random() < spec.stolen_card_share else DECLINED_CARD
            try:
                self.platform.topups.top_up(accomplice, positive_money(spec.test_amount, self.cur.code), card)
            except PlatformError:
                day.fraud_stopped += 1
                continue
            day.fraud_lost += amount  # the card's owner disputes it: the platform's loss
            try:
                paid = self.platform.payments.pay(accomplice, PaymentItem.of(self.mule, spec.test_amount, self.cur.code,
                                                                 evidence=Evidence(ip=self.s.merchants[0].country)),
                                         None)  # fmt: skip
                self.platform.refunds.refund(self.mule_key, paid.id, self.cur.format(2 * amount), None)
            except PlatformError as refused:
                if refused.code not in (*REFUSALS, ErrorCode.refund_exceeds_payment):
                    raise
                day.fraud_stopped += 1
                continue
            day.fraud_lost += amount  # an over-refund that passed (never, while the ledger holds)
