"""Risk on the payment path: every payment scored before the policy decides, from profiles kept in
memory as payments pass (no extra round trip to a store), by the risk rules of the payment's policy
pack (the platform pack's where its currency has none) and the behavioural model once it has learned.

The profiles (`farthing.domain.risk.features`) are kept per payer, merchant and IP network, the least
recently seen forgotten past `profiles_max` (a payer forgotten is scored as a new one: cold start, never
refused for it). The features of the latest `kept_max` payments are kept for labels that come soon after
(a review, a dispute); `Risk.label` teaches the model from them.

Floats live here (scores, features); money does not: an amount is read as its logarithm, nothing is paid
from a score.
"""

from __future__ import annotations

import os
import queue
import struct
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, TypeVar

from farthing.clock import Clock
from farthing.domain.risk.features import (
    DAY_MS,
    FEATURES,
    IpProfile,
    MerchantProfile,
    PayerProfile,
    Seen,
    features,
    observe,
)
from farthing.domain.risk.model import BehaviourModel, unusual
from farthing.domain.risk.records import Label, Review
from farthing.domain.risk.rules import Assessment, RiskSettings, assess
from farthing.services.blocking import may_block

PROFILES_MAX = 200_000
"""Payers (and merchants, networks) whose profiles are kept, the least recently seen forgotten past it:
a payer's profile takes about 1.5 KB, and at most about 13 KB once it knows 32 merchants, devices and
networks each (`bench/risk.py`); FARTHING_RISK_PROFILES sets it for a server."""
KEPT_MAX = 200_000
"""Payments whose features are kept for a label (about 200 bytes each, packed)."""
_PACKED = struct.Struct(f"{len(FEATURES)}f")
HONEST_SAMPLE = 10
"""One payment in this many teaches the model what honest looks like as it is made: almost every payment is
honest, a fraud one sampled so is answered by its own fraud label when that comes, and the model corrects
its probability for the sampling (`BehaviourModel._calibrated`)."""

LESSONS_CHUNK = 64
"""Honest samples handed to the learner's thread together: it wakes once per this many, as each waking
costs the payment path a switch of Python's interpreter lock."""

FRAUD_WINDOW_DAYS = 90
"""The fraud rate's period: PSD2 RTS (EU) 2018/389 Art. 19 counts it over each 90 days."""
RATE_FRESH_MS = 60_000
"""How long a fraud rate worked out is used before it is worked out again."""

P = TypeVar("P")


class RiskRepository(Protocol):
    """The review queue and the labels; SQL in `farthing.adapters.risk_sql`."""

    def add_review(self, r: Review) -> None: ...

    def review(self, payment: str) -> Review | None: ...

    def reviews(self, mode: str, limit: int) -> list[tuple[Review, Label | None]]: ...

    def add_label(self, label: Label) -> bool:
        """Keep the label; False when the payment had one already."""
        ...

    def label(self, payment: str) -> Label | None: ...

    def fraud_paid(self, currency: str, mode: str, since_ms: int) -> int: ...

    def paid_volume(self, currency: str, mode: str, since_day: int) -> int: ...


def risk_out(a: Assessment) -> dict[str, object]:
    """A payment's risk as its answer and its event carry it: score, outcome and reasons (rule, what it
    says), the weightiest first."""
    return {"score": a.score, "outcome": a.outcome,
            "reasons": [{"rule": r.rule_id, "says": r.text} for r in a.reasons]}  # fmt: skip


@dataclass(slots=True)
class Judged:
    """A payment assessed: the verdict, the features it was drawn from, and what was seen (not changed once
    made; made once per payment, where a frozen dataclass costs several times as much)."""

    assessment: Assessment
    features: dict[str, float]
    seen: Seen
    unusual: list[tuple[str, float]]
    """What is out of the payer's habit (`farthing.domain.risk.model.unusual`)."""


NO_RULES = RiskSettings("none", 101, 101, 101, (), "")
"""Where no pack sets risk rules: the model alone, which never refuses on its own below 101."""
_NEW_PAYER, _NEW_MERCHANT = PayerProfile(), MerchantProfile()


class Risk:
    def __init__(
        self, default: RiskSettings | None, repo: RiskRepository | None = None, clock: Clock | None = None,
        model: BehaviourModel | None = None, profiles_max: int = PROFILES_MAX, kept_max: int = KEPT_MAX,
        learn_aside: bool = True,
    ) -> None:  # fmt: skip
        """`default`: the rules for payments whose policy has none (None: only the model scores them);
        `repo`: where reviews and labels are kept (None: nowhere, and no fraud rate is known);
        `learn_aside`: the honest samples are learned by a thread of their own, off the payment path (False:
        at once, in order: an evaluation that must be the same every run)."""
        self.learn_aside = learn_aside
        self._lessons: queue.SimpleQueue[list[dict[str, float]]] = queue.SimpleQueue()
        self._chunk: list[dict[str, float]] = []
        self._teacher: threading.Thread | None = None
        self.default = default
        self.enabled = os.environ.get("FARTHING_RISK", "on") != "off"
        """FARTHING_RISK=off scores nothing (for measuring what scoring costs; the policy hears no risk)."""
        self.repo = repo
        self.clock = clock
        self._rates: dict[tuple[str, str], tuple[int | None, int]] = {}
        self.model = model if model is not None else BehaviourModel()
        self.profiles_max = profiles_max
        self.kept_max = kept_max
        self._payers: OrderedDict[str, PayerProfile] = OrderedDict()
        self._merchants: OrderedDict[str, MerchantProfile] = OrderedDict()
        self._ips: OrderedDict[str, IpProfile] = OrderedDict()
        self._kept: OrderedDict[int, bytes] = OrderedDict()
        self._lock = threading.Lock()
        self._since_sample = 0
        self.outcomes: dict[str, int] = {}
        """Payments assessed so far by outcome (read by `/metrics`)."""

    def fraud_rate_ppm(self, code: str, mode: str) -> int | None:
        """The platform's fraud rate in a currency and mode, in ppm: what payments labelled fraud paid over
        what merchants were paid, both over the last 90 days (rounded up; None: nothing was paid, or no
        store). Worked out at most once a minute."""
        if self.repo is None or self.clock is None:
            return None
        now = self.clock()
        rate, at = self._rates.get((code, mode), (None, -RATE_FRESH_MS - 1))
        if now - at <= RATE_FRESH_MS:
            return rate
        may_block()
        since_day = now // DAY_MS - FRAUD_WINDOW_DAYS
        volume = self.repo.paid_volume(code, mode, since_day)
        fraud = self.repo.fraud_paid(code, mode, since_day * DAY_MS)
        rate = None if volume <= 0 else min(1_000_000, -(-fraud * 1_000_000 // volume))
        self._rates[(code, mode)] = (rate, now)
        return rate

    def forget_rates(self) -> None:
        """Work the fraud rates out again on next use (a label just changed them)."""
        self._rates.clear()

    def refused(self, review: Review) -> None:
        """Keep a payment the engine stepped up or refused in the review queue."""
        if self.repo is not None:
            may_block()
            self.repo.add_review(review)

    def _of(self, table: OrderedDict[str, P], key: str, make: Callable[[], P]) -> P:
        found = table.get(key)
        if found is None:
            found = table[key] = make()
            if len(table) > self.profiles_max:
                table.popitem(last=False)
        else:
            table.move_to_end(key)
        return found

    def assess(self, settings: RiskSettings | None, payer: str, seen: Seen, can_step_up: Callable[[], bool]) -> Judged:
        """Score a payment against its payer's, merchant's and network's profiles as they stand (nothing is
        counted: `observe` counts the payment once it goes ahead or is refused).

        The profiles are read without the lock: under many threads the lock cost the payment path a
        third of its rate in waits. A payment scored while another of the same payer is being counted may
        read a count of that one and not yet its time (a decayed count a little low) — never a lost count,
        as counting holds the lock. River's trees are read under it: the learner changes them."""
        p = self._payers.get(payer) or _NEW_PAYER
        m = self._merchants.get(seen.merchant) or _NEW_MERCHANT
        ip = self._ips.get(seen.ip_prefix) if seen.ip_prefix is not None else None
        feats = features(p, m, ip, seen)
        why = unusual(feats)
        if why and self.model.ready:
            with self._lock:
                model = self.model.score(feats, why)
        else:
            model = self.model.score(feats, why)  # no tree is read: a payment of habit, or no model yet
        found = assess(settings or self.default or NO_RULES, feats, model, can_step_up)
        return Judged(found, feats, seen, why)

    def observe(self, payer: str, judged: Judged, payment_id: int) -> None:
        """Count an assessed payment into its profiles, keep its features for a label, and learn from it."""
        seen = judged.seen
        with self._lock:
            p = self._of(self._payers, payer, PayerProfile)
            m = self._of(self._merchants, seen.merchant, MerchantProfile)
            ip = self._of(self._ips, seen.ip_prefix, IpProfile) if seen.ip_prefix is not None else None
            observe(p, m, ip, seen, payer)
            self._keep(payment_id, judged.features)
            self.model.learn(judged.features, judged.unusual)
            outcome = judged.assessment.outcome
            self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1

    def _keep(self, payment_id: int, feats: dict[str, float]) -> None:
        self._kept[payment_id] = _PACKED.pack(*feats.values())  # `features` makes them in `FEATURES`' order
        if len(self._kept) > self.kept_max:
            self._kept.popitem(last=False)
        self._since_sample += 1
        if self._since_sample >= HONEST_SAMPLE:
            self._since_sample = 0
            if not self.learn_aside or not self.model.started:
                # At once: in order (an evaluation), or because it is cheap (before the first fraud label
                # the model only keeps honest samples, packed).
                self.model.label(feats, False)
                return
            self._chunk.append(feats)
            if len(self._chunk) < LESSONS_CHUNK:
                return
            self._lessons.put(self._chunk)
            self._chunk = []
            if self._teacher is None:
                self._teacher = threading.Thread(target=self._teach, name="risk-learner", daemon=True)
                self._teacher.start()

    def _teach(self) -> None:
        """Learn the honest samples as they come, a chunk at a time (the lock taken for each: scoring goes
        on between them)."""
        while True:
            for feats in self._lessons.get():
                with self._lock:
                    self.model.label(feats, False)

    def features_of(self, payment_id: int) -> dict[str, float] | None:
        """The features a payment was scored with, while they are kept."""
        with self._lock:
            packed = self._kept.get(payment_id)
        return None if packed is None else dict(zip(FEATURES, _PACKED.unpack(packed), strict=True))

    def label(self, payment_id: int, fraud: bool, feats: dict[str, float] | None = None) -> bool:
        """Teach the model a payment's truth (its features kept here, or given); False if none are known."""
        if fraud and not self.model.started:
            _ = self.model.classifier  # River imported and the forest made outside the lock: scoring goes on
        with self._lock:
            packed = self._kept.pop(payment_id, None) if feats is None else None
            if feats is None and packed is not None:
                feats = dict(zip(FEATURES, _PACKED.unpack(packed), strict=True))
            if feats is None:
                return False
            self.model.label(feats, fraud)
            return True

    def topup_tried(self, payer: str, declined: bool, now_ms: int) -> None:
        """A card top-up of the payer was tried (card testing shows as many declined)."""
        with self._lock:
            p = self._of(self._payers, payer, PayerProfile)
            p.topups_1d.add(1.0, now_ms)
            if declined:
                p.declines_1d.add(1.0, now_ms)

    def merchant_event(self, merchant: str, kind: str, now_ms: int) -> None:
        """A refund or dispute of one of the merchant's payments (`kind`: refund or dispute)."""
        with self._lock:
            m = self._of(self._merchants, merchant, MerchantProfile)
            (m.refunds if kind == "refund" else m.disputes).add(1.0, now_ms)

    def channel_event(self, payer: str, now_ms: int) -> None:
        """A payment channel of the payer opened or closed."""
        with self._lock:
            self._of(self._payers, payer, PayerProfile).churn_1d.add(1.0, now_ms)
