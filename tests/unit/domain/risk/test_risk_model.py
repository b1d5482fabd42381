"""The behavioural model: silent until it has labels of both kinds, then it tells fraud from honest on
payments like those it learned from; a payment of habit is left to the rules; a NaN never reaches River;
its memory stops growing once its trees are full."""

from __future__ import annotations

import math
import pickle
import random

from hypothesis import given
from hypothesis import strategies as st

from farthing.domain.risk.features import AGE_CAP_H, FEATURES
from farthing.domain.risk.model import _ABOVE, _BELOW, MIN_LABELS, BehaviourModel, clean, unusual

HABIT = {**dict.fromkeys(FEATURES, 0.0), "payer_payments": 40.0, "device_age_h": AGE_CAP_H, "ip_age_h": AGE_CAP_H,
         "merchant_age_h": AGE_CAP_H}  # fmt: skip


def _honest_but_new(rng: random.Random) -> dict[str, float]:
    """An honest payment out of habit: a new merchant or a café's network, the usual amount."""
    which = rng.choice(["merchant_age_h", "ip_age_h"])
    return {**HABIT, which: rng.uniform(0, 5), "amount_z": rng.gauss(0, 1), "log_amount": rng.gauss(11.5, 0.5),
            "payer_payments": rng.uniform(10, 200)}  # fmt: skip


def _takeover(rng: random.Random) -> dict[str, float]:
    return {**HABIT, "device_age_h": rng.uniform(0, 2), "ip_age_h": rng.uniform(0, 2), "merchant_age_h": 0.0,
            "amount_z": rng.uniform(3, 9), "log_amount": rng.gauss(15, 0.5), "count_1h": rng.uniform(2, 6)}  # fmt: skip


def _trained(seed: int = 3) -> BehaviourModel:
    model, rng = BehaviourModel(seed=seed), random.Random(seed)
    for i in range(4_000):
        x = _honest_but_new(rng)
        model.learn(x)
        model.label(x, False)
        if i % 40 == 0:
            model.label(_takeover(rng), True)
    return model


def test_the_model_abstains_until_it_has_labels_of_both_kinds() -> None:
    model, rng = BehaviourModel(), random.Random(1)
    for _ in range(MIN_LABELS):
        model.label(_honest_but_new(rng), False)
    assert model.score(_takeover(rng)) is None  # no fraud seen yet: nothing made up
    for _ in range(MIN_LABELS):
        model.label(_takeover(rng), True)
    assert model.score(_takeover(rng)) is not None


def test_after_labels_fraud_scores_above_honest_payments_it_never_saw() -> None:
    model, held_out = _trained(), random.Random(99)
    fraud = sorted((model.score(_takeover(held_out)) or (0.0, []))[0] for _ in range(200))
    honest = sorted((model.score(_honest_but_new(held_out)) or (1.0, []))[0] for _ in range(200))
    assert fraud[len(fraud) // 10] > honest[-len(honest) // 10]  # fraud's 10th percentile above honest's 90th
    p, why = model.score(_takeover(held_out)) or (0.0, [])
    assert p > 0.5 and {name for name, _ in why} <= {"device_age_h", "ip_age_h", "merchant_age_h", "amount_z"}


def test_a_payment_of_habit_is_left_to_the_rules_and_teaches_nothing() -> None:
    model = _trained()
    assert unusual(HABIT) == [] and model.score(HABIT) == (0.0, [])
    before = dict(model.labelled)
    model.label(HABIT, True)
    assert model.labelled == before


def test_probabilities_are_brought_to_the_base_rate_the_model_saw() -> None:
    model, rng = _trained(), random.Random(5)
    x = _takeover(rng)
    p_rare = (model.score(x) or (0.0, []))[0]
    for _ in range(20_000):  # many more unusual payments seen, none more labelled fraud: fraud is rarer now
        model.learn(_honest_but_new(rng))
    assert (model.score(x) or (0.0, []))[0] < p_rare


def test_nan_and_infinite_features_are_read_as_zero() -> None:
    bad = {**HABIT, "amount_z": math.nan, "count_1m": math.inf, "log_amount": -math.inf, "device_age_h": 0.0}
    del bad["new_ip"]
    assert clean(bad) == {**HABIT, "amount_z": 0.0, "count_1m": 0.0, "log_amount": 0.0, "device_age_h": 0.0}
    model = _trained()
    model.label(bad, True)
    p, _ = model.score(bad) or (math.nan, [])
    assert 0.0 <= p <= 1.0


def test_its_memory_stops_growing_once_its_trees_are_full() -> None:
    model, rng = BehaviourModel(), random.Random(4)
    sizes = []
    for _ in range(3):
        for i in range(12_000):
            model.label(_honest_but_new(rng) if i % 30 else _takeover(rng), i % 30 == 0)
        sizes.append(len(pickle.dumps(model)))
    assert sizes[2] < sizes[1] * 1.1, sizes


@given(
    st.dictionaries(
        st.sampled_from(FEATURES),
        st.sampled_from([0.0, 0.4, 1.0, 2.5, 4.0, 7.0, 23.0, 24.0, 100.0, -3.0, math.nan, math.inf, -math.inf]),
    )
)
def test_what_is_unusual_is_read_the_same_written_out_as_feature_by_feature(over: dict[str, float]) -> None:
    """`unusual` is written out as straight comparisons for speed; what it finds must be what reading each
    feature against its limit in a loop finds, a NaN, an infinity or a missing feature (read as 0) included."""
    for x in ({**HABIT, **over}, over):
        expected = [(n, x.get(n, 0.0)) for n, limit in _BELOW if x.get(n, 0.0) < limit]
        expected += [(n, x.get(n, 0.0)) for n, limit in _ABOVE if abs(x.get(n, 0.0)) > limit]
        assert [(n, repr(v)) for n, v in unusual(x)] == [(n, repr(v)) for n, v in expected]
