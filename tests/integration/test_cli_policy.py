"""`farthing policy check | explain | diff`, run as a compliance officer would."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path


def farthing(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "farthing.cli", "policy", *args], capture_output=True, text=True, timeout=120,
        cwd=cwd, env={"COLUMNS": "300", "PATH": "/usr/bin:/bin"},
    )  # fmt: skip


def test_check_accepts_good_packs_and_names_the_first_problem(tmp_path: Path) -> None:
    shipped = Path(__file__).parents[2] / "src" / "farthing" / "policies"
    ok = farthing("check", *map(str, sorted(shipped.glob("*.toml"))), cwd=tmp_path)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "ok  eu-de: version" in ok.stdout and "platform <- eu <- eu-de" in ok.stdout
    bad = tmp_path / "mine.toml"
    bad.write_text('[pack]\nid = "mine"\nextends = ["eu"]\n[[limits]]\nid = "cap"\nperiod = "day"\nmax = "ten"\n'
                   'currency = "EUR"\nsource = "house rule"\n')  # fmt: skip
    refused = farthing("check", str(bad), cwd=tmp_path)
    assert refused.returncode == 1
    assert f"{bad}: limits[0].max (rule 'cap')" in refused.stdout and "'ten' is not a decimal number" in refused.stdout


def test_check_refuses_an_override_that_loosens_the_pack_it_extends(tmp_path: Path) -> None:
    override = (
        '[pack]\nid = "shop-7"\nextends = ["kr"]\nmerchant_override = true\n[[limits]]\n'
        'id = "kr.micropayment.monthly"\nperiod = "month"\nmax = "{max}"\ncurrency = "KRW"\nsource = "ours"\n'
    )
    tighter, looser = tmp_path / "tighter.toml", tmp_path / "looser.toml"
    tighter.write_text(override.format(max="300000"))
    looser.write_text(override.format(max="2000000"))
    ok = farthing("check", str(tighter), cwd=tmp_path)
    assert ok.returncode == 0 and "ok  shop-7: a merchant override, tightens kr" in ok.stdout, ok.stdout + ok.stderr
    refused = farthing("check", str(looser), cwd=tmp_path)
    assert refused.returncode == 1, refused.stdout
    assert "rule 'kr.micropayment.monthly' would loosen a legal limit" in refused.stdout


def test_explain_says_why_in_words_and_in_json(tmp_path: Path) -> None:
    ctx = tmp_path / "ctx.json"
    ctx.write_text(json.dumps({"amount": "35.00", "currency": "EUR", "now": "2026-11-28T12:00:00Z",
                               "evidence": {"billing": "DE", "ip": "DE"}}))  # fmt: skip
    words = farthing("explain", "--pack", "eu-de", "--context", str(ctx), cwd=tmp_path)
    assert words.returncode == 0, words.stdout + words.stderr
    assert words.stdout.startswith("STEP_UP") and "35.00 is over 30.00" in words.stdout
    machine = farthing("explain", "--pack", "eu-de", "--context", str(ctx), "--json", cwd=tmp_path)
    answer = json.loads(machine.stdout)
    assert answer["outcome"] == "step_up" and answer["tax"]["amount"] == "5.588235" and answer["fee"] == "0.70"
    assert [r["rule"] for r in answer["reasons"]] == ["eu.vat.ess", "eu.sca.low_value_remote", "platform.fee"]
    ctx.write_text(json.dumps({"amount": 1, "currency": "EUR", "now": "2026-11-28T12:00:00Z"}))
    refused = farthing("explain", "--pack", "eu-de", "--context", str(ctx), cwd=tmp_path)
    assert refused.returncode == 1 and "context" in refused.stdout


def test_diff_lists_the_rules_that_changed(tmp_path: Path) -> None:
    stricter = tmp_path / "kr-strict.toml"
    stricter.write_text('[pack]\nid = "kr-strict"\nextends = ["kr"]\n[[limits]]\nid = "kr.micropayment.monthly"\n'
                        'period = "month"\nmax = "300000"\ncurrency = "KRW"\nwhen = { age_band = ["adult"] }\n'
                        'source = "what if the cap were 300,000 won?"\n')  # fmt: skip
    out = farthing("diff", "kr", "kr-strict", "--policies", str(stricter), cwd=tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "changed  kr.micropayment.monthly: max_units: '1000000 KRW' -> '300000 KRW'" in out.stdout


def test_diff_shows_a_changed_tax_rate_with_the_day_it_applies_from(tmp_path: Path) -> None:
    cut = tmp_path / "eu-cut.toml"
    cut.write_text(
        '[pack]\nid = "eu-cut"\nextends = ["eu"]\n[tax]\nid = "eu.vat.ess"\nkind = "vat"\ninclusive = true\n'
        'schedule = [{ place = "DE", percent = "7", from = "2027-01-01" }]\nsource = "what if"\n'
    )
    out = farthing("diff", "eu", "eu-cut", "--policies", str(cut), cwd=tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "'DE': ['2015-01-01: 19%', '2020-07-01: 16%', '2021-01-01: 19%']" in out.stdout  # eu's, as people read it
    assert "-> {'DE': ['2027-01-01: 7%']}" in out.stdout
