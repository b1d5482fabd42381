"""The evaluation's measures on small, worked examples: average precision with ties, and the operating point
where a given share of honest payments is stepped up."""

from __future__ import annotations

import math

import pytest

from farthing.sim.risk_eval import Scores, at_honest_share, average_precision


def test_average_precision_of_a_ranking() -> None:
    assert average_precision([3, 2, 1], [True, False, True]) == pytest.approx((1 / 1 + 2 / 3) / 2)
    assert average_precision([3, 2, 1], [True, True, False]) == pytest.approx(1.0)
    # Tied scores are one group: the two at 2 are taken together (precision 2/3 after three).
    assert average_precision([3, 2, 2], [False, True, False]) == pytest.approx(1 / 3)
    assert math.isnan(average_precision([1, 2], [False, False]))


def test_the_operating_point_steps_up_no_more_honest_payments_than_asked() -> None:
    fraud = [True] * 3 + [False] * 1_000
    amounts = [2_000_000] * 3 + [100_000] * 1_000
    scores = [90.0, 80.0, 5.0] + [70.0] + [50.0] * 9 + [0.0] * 990
    s = Scores("w", fraud, amounts, {"rules": scores}, ["x"] * len(fraud))
    recall, per_step_up, honest = at_honest_share(s, "rules", 0.001)  # one honest payment may be stepped up
    assert (recall, per_step_up, honest) == (pytest.approx(2 / 3), pytest.approx(4.0), pytest.approx(0.001))
    recall, _, honest = at_honest_share(s, "rules", 0.01)  # ten: the nine tied at 50 come in together
    assert (recall, honest) == (pytest.approx(2 / 3), pytest.approx(0.01))
    recall, _, honest = at_honest_share(s, "rules", 0.005)  # five: the nine tied at 50 would be too many
    assert (recall, honest) == (pytest.approx(2 / 3), pytest.approx(0.001))
