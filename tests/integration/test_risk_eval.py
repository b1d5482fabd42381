"""The risk evaluation, bounded for CI (`farthing risk evaluate` runs it at a million payments a world):
the model learns on one world and is frozen on the held-out ones; card testing is caught by the rules at
the pack's thresholds; the command writes its report, its JSON and its chart."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

from farthing.domain.risk.model import BehaviourModel
from farthing.services import policies
from farthing.sim.risk_eval import SCORERS, run
from farthing.sim.risk_world import Mix, World

SETTINGS = policies.load("platform").risk


def test_the_model_learns_on_the_training_world_only() -> None:
    busy = Mix(takeovers=150.0, card_testers=100.0)  # enough fraud in a small world to learn from
    train = World(payers=800, days=14, warmup_days=4, seed=5, mix=busy)
    model = BehaviourModel()
    run(train, SETTINGS, model, True, "train")
    assert model.labelled[True] > 20 and model.labelled[False] > 20 and model.ready
    before = dict(model.labelled), model.seen
    held_out = run(dataclasses.replace(train, seed=6), SETTINGS, model, False, "held out")  # scored, not learned
    assert (dict(model.labelled), model.seen) == before
    assert sum(held_out.fraud) > 0 and max(held_out.by["model"]) > 0  # the frozen model still scores
    for scorer in SCORERS:
        assert all(0 <= x <= (1 if scorer == "model" else 100) for x in held_out.by[scorer])


def test_card_testing_is_stepped_up_by_the_rules() -> None:
    testers = World(payers=600, days=12, warmup_days=5, seed=9, mix=Mix(takeovers=0.0, card_testers=400.0))
    scored = run(testers, SETTINGS, BehaviourModel(), True, "testers")
    caught = [s >= SETTINGS.step_up_at for s, f in zip(scored.by["both"], scored.fraud, strict=True) if f]  # type: ignore[union-attr]
    assert len(caught) > 20 and sum(caught) / len(caught) > 0.9


def test_the_command_writes_its_report(tmp_path: Path) -> None:
    out = tmp_path / "report"
    done = subprocess.run([sys.executable, "-m", "farthing.cli", "risk", "evaluate", "--payments", "2000", "--out",
                           str(out), "--json"], capture_output=True, text=True, timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr
    said = json.loads(done.stdout.strip().splitlines()[-1])
    assert said["policy"] == "platform" and {"train", "same_mix", "other_mix"} <= said.keys()
    assert json.loads((out / "report.json").read_text())["same_mix"]["payments"] == said["same_mix"]["payments"]
    assert "| PR-AUC |" in (out / "report.md").read_text()
    assert (out / "precision-recall.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
