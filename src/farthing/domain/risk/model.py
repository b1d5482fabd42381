"""The behavioural model: River's online learners over a payment's features.

- `HalfSpaceTrees` learns, without labels, what payments look like, and scores how unlike them a payment
  is (0 ordinary to 1 never seen). It wants inputs in [0, 1]: each feature is squashed there first
  (`squashed`), monotonically, so that order is kept and no value is unbounded.
- A logistic regression over the standardised features and that anomaly score learns from labels: fraud
  (a dispute lost as unauthorised, a takeover confirmed, a refund marked fraud) and not fraud (an operator's
  review; honest payments the caller samples). Fraud is rare (0.01 to 0.1 % of payments), so each fraud label
  weighs `fraud_weight` honest ones.

Until it has seen `MIN_LABELS` of each kind the model abstains (`score` answers None): the rules decide
alone, and no probability is made up. The probability's strongest inputs are the features whose weight
times value raised it most; they are the decision's reasons.

Pure computation: no I/O, no clock. A NaN or infinite feature is read as 0 (never learned from).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from river import anomaly, linear_model, optim, preprocessing

from farthing.domain.risk.features import FEATURES

MIN_LABELS = 20
"""Labels of each kind (fraud, not fraud) the model needs before it says anything."""
SCALE = {
    "payer_payments": 50.0, "count_1m": 5.0, "count_1h": 20.0, "count_1d": 50.0, "log_value_1h": 5.0,
    "log_value_1d": 5.0, "log_amount": 5.0, "amount_z": 3.0, "new_merchant": 1.0, "new_device": 1.0, "new_ip": 1.0,
    "country_jump": 1.0, "hour_rarity": 1.0, "topup_declines_1d": 2.0, "topup_decline_ratio": 1.0,
    "merchant_refund_ratio": 0.2, "merchant_dispute_ratio": 0.05, "ip_payers_1h": 10.0, "channel_churn_1d": 10.0,
    "allowance_use": 1.0,
}  # fmt: skip
"""Each feature's usual spread, for squashing it into [0, 1]."""


def clean(feats: Mapping[str, float]) -> dict[str, float]:
    """The features the model reads: every one of `FEATURES`, a missing, NaN or infinite one as 0."""
    out = {}
    for name in FEATURES:
        v = feats.get(name, 0.0)
        out[name] = v if isinstance(v, float | int) and math.isfinite(v) else 0.0
    return out


def squashed(feats: Mapping[str, float]) -> dict[str, float]:
    """Each feature mapped into [0, 1] by 0.5 + 0.5·tanh(x / its spread): in order, bounded."""
    return {name: 0.5 + 0.5 * math.tanh(v / SCALE[name]) for name, v in feats.items()}


class BehaviourModel:
    def __init__(self, seed: int = 7, fraud_weight: float = 50.0) -> None:
        self.anomaly = anomaly.HalfSpaceTrees(n_trees=6, height=6, window_size=256, seed=seed)
        self.scaler = preprocessing.StandardScaler()
        self.classifier = linear_model.LogisticRegression(optimizer=optim.SGD(0.02), l2=1e-4)
        self.fraud_weight = fraud_weight
        self.labelled = {True: 0, False: 0}
        self.seen = 0

    @property
    def ready(self) -> bool:
        return min(self.labelled.values()) >= MIN_LABELS

    def _inputs(self, x: dict[str, float]) -> dict[str, float]:
        scaled: dict[str, float] = dict(self.scaler.transform_one(x))
        scaled["anomaly"] = float(self.anomaly.score_one(squashed(x)))
        return scaled

    def score(self, feats: Mapping[str, float]) -> tuple[float, list[tuple[str, float]]] | None:
        """The probability that the payment is fraud and its strongest inputs, or None (not trained yet)."""
        if not self.ready:
            return None
        inputs = self._inputs(clean(feats))
        p = float(self.classifier.predict_proba_one(inputs).get(True, 0.0))
        weights = self.classifier.weights
        pushed = sorted(((name, weights.get(name, 0.0) * v) for name, v in inputs.items()), key=lambda kv: -kv[1])
        return p, [(name, c) for name, c in pushed if c > 0][:3]

    def learn(self, feats: Mapping[str, float]) -> None:
        """Learn what payments look like (no label): the anomaly trees and the features' spreads."""
        x = clean(feats)
        self.anomaly.learn_one(squashed(x))
        self.scaler.learn_one(x)
        self.seen += 1

    def label(self, feats: Mapping[str, float], fraud: bool) -> None:
        """Learn from a payment whose truth is known."""
        inputs = self._inputs(clean(feats))
        self.classifier.learn_one(inputs, fraud, w=self.fraud_weight if fraud else 1.0)
        self.labelled[fraud] += 1
