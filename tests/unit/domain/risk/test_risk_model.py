"""The behavioural model: silent until it has labels of both kinds, then it tells fraud from honest on
payments like those it learned from; a NaN never reaches River; its memory does not grow with payments."""

from __future__ import annotations

import math
import pickle
import random

from farthing.domain.risk.features import FEATURES
from farthing.domain.risk.model import MIN_LABELS, BehaviourModel, clean

ZERO = dict.fromkeys(FEATURES, 0.0)


def _honest(rng: random.Random) -> dict[str, float]:
    usual = {"payer_payments": rng.uniform(5, 200), "log_amount": rng.gauss(11.5, 0.5), "amount_z": rng.gauss(0, 1)}
    return {**ZERO, **usual, "count_1h": rng.uniform(0, 5), "new_merchant": float(rng.random() < 0.1)}


def _takeover(rng: random.Random) -> dict[str, float]:
    return {**_honest(rng), "amount_z": rng.uniform(3, 9), "new_device": 1.0, "new_ip": 1.0, "new_merchant": 1.0,
            "log_amount": rng.gauss(16, 0.5)}  # fmt: skip


def test_the_model_abstains_until_it_has_labels_of_both_kinds() -> None:
    model, rng = BehaviourModel(), random.Random(1)
    for _ in range(MIN_LABELS):
        model.learn(_honest(rng))
        model.label(_honest(rng), False)
    assert model.score(_takeover(rng)) is None  # no fraud seen yet: nothing made up
    for _ in range(MIN_LABELS):
        model.label(_takeover(rng), True)
    assert model.score(_takeover(rng)) is not None


def test_after_labels_fraud_scores_above_honest_payments_it_never_saw() -> None:
    model, rng = BehaviourModel(seed=3), random.Random(2)
    for i in range(3_000):
        x = _honest(rng)
        model.learn(x)
        model.label(x, False)
        if i % 30 == 0:
            model.label(_takeover(rng), True)
    held_out = random.Random(99)
    fraud = [model.score(_takeover(held_out)) for _ in range(200)]
    honest = [model.score(_honest(held_out)) for _ in range(200)]
    assert all(s is not None for s in fraud + honest)
    fraud_p = sorted(s[0] for s in fraud if s is not None)
    honest_p = sorted(s[0] for s in honest if s is not None)
    assert (
        fraud_p[len(fraud_p) // 10] > honest_p[-len(honest_p) // 10]
    )  # the 10th percentile of fraud above honest's 90th
    p, strongest = model.score(_takeover(held_out)) or (0.0, [])
    assert p > 0.5 and {name for name, _ in strongest} & {"amount_z", "new_device", "new_ip", "log_amount", "anomaly"}


def test_nan_and_infinite_features_are_read_as_zero() -> None:
    bad = {**ZERO, "amount_z": math.nan, "count_1m": math.inf, "log_amount": -math.inf}
    del bad["new_ip"]
    assert clean(bad) == {**ZERO}
    model = BehaviourModel()
    model.learn(bad)
    model.label(bad, True)
    assert all(math.isfinite(w) for w in model.classifier.weights.values())


def test_its_memory_does_not_grow_with_payments() -> None:
    model, rng = BehaviourModel(), random.Random(4)
    sizes = []
    for _ in range(3):
        for _ in range(2_000):
            model.learn(_honest(rng))
        sizes.append(len(pickle.dumps(model)))
    assert max(sizes) < min(sizes) * 1.1, sizes
