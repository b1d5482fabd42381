"""The behavioural model: an online forest over a payment's features, for payments out of the payer's habit.

Most payments are habit: a device, a network and a merchant the payer has known for a day or more, an
amount near its usual, no declined cards, a payer with history. The model leaves those alone (`unusual`
says which are not: the rules still see every payment) and scores the rest with River's
`AMFClassifier` (an aggregated Mondrian forest: it learns one example at a time, its probabilities come
from averaging over its trees' partitions; `max_nodes` bounds each tree, so its memory does not grow with
the payments it learns from). Its labels: fraud (a dispute lost as fraudulent, an operator's label) and
not fraud (an operator's review; a sample of payments the caller takes as honest).

It learns from classes far less unequal than the world's (0.01 to 0.1 % of payments are fraud), so its
probability is corrected to the base rate it saw (`_calibrated`): joined with the rules, a probability
must mean what it says. Until it has `MIN_LABELS` of each kind it abstains (`score` answers None): the
rules decide alone, and no probability is made up. Its reasons are what made the payment unusual.

Pure computation: no I/O, no clock. A NaN or infinite feature is read as 0 (never learned from).
"""

from __future__ import annotations

import math
from array import array
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any

from farthing.domain.risk.features import FEATURES

MIN_LABELS = 20
WAITING_MAX = 5_000
"""Honest samples kept (packed) until the first fraud label comes: River is not even imported before then."""
"""Labels of each kind (fraud, not fraud) the model needs before it says anything."""
TREES, NODES_MAX = 5, 2_048
NEW_H = 24.0
"""A device, network or merchant the payer has known for less than this many hours is new to it."""


def clean(feats: Mapping[str, float]) -> dict[str, float]:
    """The features the model reads: every one of `FEATURES`, a missing, NaN or infinite one as 0."""
    out = {}
    for name in FEATURES:
        v = feats.get(name, 0.0)
        out[name] = v if isinstance(v, float | int) and math.isfinite(v) else 0.0
    return out


_BELOW = (("device_age_h", NEW_H), ("ip_age_h", NEW_H), ("merchant_age_h", NEW_H), ("payer_payments", 5.0))
_ABOVE = (("amount_z", 2.0), ("country_jump", 0.5), ("topup_declines_1d", 0.5), ("count_1h", 6.0),
          ("merchant_dispute_ratio", 0.0), ("channel_churn_1d", 5.0))  # fmt: skip


def _unusual_reader() -> Any:
    """`unusual` written out, one test per line: on the payment path, a loop over the limits with its
    calls costs several times what straight comparisons do (made from the constants above only)."""
    lines = ["def unusual(x):", "    g = x.get", "    out = []"]
    for name, limit in _BELOW:
        lines += [f"    v = g({name!r}, 0.0)", f"    if v < {limit!r}: out.append(({name!r}, v))"]
    for name, limit in _ABOVE:
        lines += [f"    v = g({name!r}, 0.0)", f"    if abs(v) > {limit!r}: out.append(({name!r}, v))"]
    scope: dict[str, Any] = {}
    exec("\n".join([*lines, "    return out"]), scope)
    return scope["unusual"]


unusual: Callable[[Mapping[str, float]], list[tuple[str, float]]] = _unusual_reader()
"""What is out of the payer's habit in a payment's features, in the order of `_BELOW` then `_ABOVE`
(nothing: the model leaves it to the rules); a missing feature reads as 0, and a NaN, comparing False, is
never unusual by itself."""


class BehaviourModel:
    def __init__(self, seed: int = 7) -> None:
        self.seed = seed
        self._classifier: Any = None
        self._waiting: deque[array[float]] = deque(maxlen=WAITING_MAX)
        self.labelled = {True: 0, False: 0}
        self.seen = 0
        """Unusual payments seen (the population the classifier speaks of)."""
        self.frozen = False
        """A frozen model learns nothing more (an evaluation on data it must not see)."""

    @property
    def ready(self) -> bool:
        return min(self.labelled.values()) >= MIN_LABELS

    @property
    def classifier(self) -> Any:
        """River's forest, made (and River imported: a few seconds, scipy with it) on first use, so that a
        process that never learns (a command, a server's first requests) never waits for it."""
        if self._classifier is None:
            from river import forest

            self._classifier = forest.AMFClassifier(n_estimators=TREES, max_nodes=NODES_MAX, seed=self.seed)
        return self._classifier

    def score(
        self, feats: Mapping[str, float], why: list[tuple[str, float]] | None = None
    ) -> tuple[float, list[tuple[str, float]]] | None:
        """The probability that the payment is fraud and what made it unusual (`why`: `unusual(feats)`,
        where the caller has it already); 0 for a payment of habit; None while the model is not trained."""
        if not self.ready:
            return None
        if why is None:
            why = unusual(feats)  # a NaN compares False: never unusual by itself
        if not why:
            return 0.0, []
        p = float(self.classifier.predict_proba_one(clean(feats)).get(True, 0.0))
        return self._calibrated(p), why[:3]

    def _calibrated(self, p: float) -> float:
        """The probability at the base rate among unusual payments: the classifier learned from every fraud
        label against a sample of honest payments, so its odds are moved by the ratio of the world's odds
        (fraud labelled among the unusual payments seen) to the odds it learned at (prior correction)."""
        base = min(0.5, max(1e-6, self.labelled[True] / max(1, self.seen)))
        trained = self.labelled[True] / max(1, self.labelled[False])
        p = min(1 - 1e-9, max(1e-9, p))
        odds = p / (1 - p) * (base / (1 - base)) / trained
        return odds / (1 + odds)

    def learn(self, feats: Mapping[str, float], why: list[tuple[str, float]] | None = None) -> None:
        """Count a payment seen (no label): the base rate's denominator (`why`: as for `score`)."""
        if not self.frozen and (why if why is not None else unusual(feats)):
            self.seen += 1

    @property
    def started(self) -> bool:
        """The classifier exists (a fraud label came): labelling no longer waits."""
        return self._classifier is not None

    def label(self, feats: Mapping[str, float], fraud: bool) -> None:
        """Learn from a payment whose truth is known (one of habit teaches the model nothing: it never
        scores those). Before the first fraud label, honest ones wait, packed, and are learned first then."""
        x = clean(feats)
        if self.frozen or not unusual(x):
            return
        if not fraud and self._classifier is None:
            self._waiting.append(array("d", x.values()))
            return
        classifier = self.classifier
        while self._waiting:
            waited = dict(zip(FEATURES, self._waiting.popleft(), strict=True))
            classifier.learn_one(waited, False)
            self.labelled[False] += 1
        classifier.learn_one(x, fraud)
        self.labelled[fraud] += 1
