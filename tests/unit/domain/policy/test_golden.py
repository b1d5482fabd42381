"""Every shipped pack against its golden vectors (`vectors.toml`): outcome, reasons, fees and taxes."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

from farthing.domain.money import currency
from farthing.domain.policy.evaluate import Context, evaluate
from farthing.services.policies import context_from_json, load

VECTORS = tomllib.loads((Path(__file__).parent / "vectors.toml").read_text(encoding="utf-8"))["vector"]
DEFAULT_NOW = "2026-11-28T12:00:00Z"
DEFAULT_EVIDENCE = {"billing": "DE", "ip": "DE"}


def context(v: dict[str, Any]) -> Context:
    """The vector's context, read the way `farthing policy explain --context` reads a file."""
    raw = {k: v[k] for k in CONTEXT_KEYS if k in v}
    raw.setdefault("currency", "EUR")
    raw.setdefault("now", DEFAULT_NOW)
    raw.setdefault("evidence", DEFAULT_EVIDENCE)
    return context_from_json(raw)


CONTEXT_KEYS = ("amount", "currency", "now", "channel", "age_band", "payer_monthly_limit", "counters",
                "authenticated", "evidence", "fraud_rate", "risk_high")  # fmt: skip


@pytest.mark.parametrize("v", VECTORS, ids=[f"{v['pack']}: {v['name']}" for v in VECTORS])
def test_golden_vector(v: dict[str, Any]) -> None:
    policy = load(v["pack"])
    ctx = context(v)
    cur = currency(ctx.currency)
    d = evaluate(policy, ctx)
    assert (d.outcome, [f"{r.rule_id}:{r.outcome}" for r in d.reasons]) == (v["expect"], v["reasons"]), d.explain()
    assert all(r.text for r in d.reasons)  # every reason reads as a sentence
    explained = evaluate(policy, ctx, explain=True)  # gathered now instead of on first reading: the same
    assert explained == d and [(r.rule_id, r.outcome, r.text) for r in explained.reasons] == [
        (r.rule_id, r.outcome, r.text) for r in d.reasons
    ]
    assert d.refused_by == tuple(r.rule_id for r in d.reasons if r.outcome in ("deny", "step_up"))
    assert d.policy_version == policy.version
    if "fee" in v:
        assert cur.format(d.fee) == cur.format(cur.parse(v["fee"]))
    if "tax" in v:
        assert cur.format(d.tax.amount if d.tax else 0) == cur.format(cur.parse(v["tax"])), d.explain()
    if "tax_place" in v:
        assert d.tax is not None and d.tax.place == v["tax_place"]
    if "counters_after" in v:
        after = v["counters_after"]
        assert d.counters_after is not None
        for name, value in after.items():
            got = getattr(d.counters_after, name)
            assert got == (cur.parse(value) if isinstance(value, str) and name.endswith(("spent", "amount")) else value)


def test_every_shipped_pack_has_vectors() -> None:
    from farthing.services.policies import shipped

    tested = {v["pack"] for v in VECTORS}
    jurisdictions = {p for p, f in shipped().items() if f.pack.jurisdiction}
    assert jurisdictions <= tested, f"packs without golden vectors: {jurisdictions - tested}"
