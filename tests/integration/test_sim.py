"""The policy lab on small runs: deterministic, conserving money, sane by construction, refusing bad
scenarios with the key's path, and producing a report from the command line."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from farthing.errors import ErrorCode, StoreError
from farthing.services import audit
from farthing.services.ledger import open_ledger
from farthing.sim import report, run, scenario
from farthing.sim.experiment import sweep

BASE = """
[scenario]
name = "small"
seed = 3
days = 3
currency = "USD"

[payments]
top_up = "2.00"
top_up_when_below = "0.01"

[[consumers]]
count = 4
arrivals_per_day = 12.0
willingness_to_pay = "0.05"
mental_cost = "0.001"

[[merchants]]
count = 2
price = "0.01"
"""


def small(extra: str = "", **changes: str) -> scenario.Scenario:
    return scenario.with_values(scenario.parse(BASE + extra), changes) if changes else scenario.parse(BASE + extra)


def test_the_same_seed_gives_the_same_metrics_and_another_seed_does_not() -> None:
    a, b = run.run(small()), run.run(small())
    assert a.totals == b.totals and [d.as_row(10**6) for d in a.days] == [d.as_row(10**6) for d in b.days]
    assert a.totals["payments"] > 100
    assert run.run(small(**{"scenario.seed": "4"})).totals != a.totals


@pytest.mark.any_date
def test_the_simulated_calendar_reads_no_real_date(real_clock: str | None) -> None:
    """A world runs on its own calendar: on the machine's date (frozen at each edge by the any_date
    marker) and on another, the same seed gives the same days, hours and metrics."""
    import time_machine

    here = run.run(small(**{"scenario.days": "3"}))
    with time_machine.travel(datetime(2030, 7, 1, 9, 30, tzinfo=UTC), tick=False):
        elsewhere = run.run(small(**{"scenario.days": "3"}))
    assert here.totals == elsewhere.totals, real_clock
    assert [d.as_row(10**6) for d in here.days] == [d.as_row(10**6) for d in elsewhere.days]
    assert here.hours == elsewhere.hours


def test_money_is_conserved_and_the_audit_passes(tmp_path: Path) -> None:
    result = run.run(small(), folder=tmp_path)
    ledger = open_ledger(f"sqlite:///{tmp_path}/sim.db")
    try:
        accounts = ledger.accounts()
        assert sum(a.credits_posted - a.debits_posted for a in accounts) == 0  # every ledger sums to zero
        assert audit.verify(ledger.engine.store).ok
    finally:
        ledger.close()
    assert result.totals["value"] == pytest.approx(result.totals["payments"] * 0.01)


def test_sanity_that_holds_by_construction() -> None:
    quiet = run.run(small())
    assert quiet.totals["fraud_attempted"] == quiet.totals["fraud_lost"] == 0  # no fraudsters, no fraud
    testers = run.run(small("\n[[fraudsters]]\ncount = 2\nattempts_per_day = 48\nstolen_card_share = 0.1\n"))
    t = testers.totals
    assert t["fraud_attempted"] > 50 and t["fraud_stopped"] > 0.7 * t["fraud_attempted"] and t["fraud_lost"] > 0
    busy = small(**{"consumers[0].arrivals_per_day": "100"})  # about $1 a day each: the top-ups get spent
    overheads = [p.mean["fee_overhead"] for p in sweep(busy, {"payments.top_up": ["0.50", "1.00", "3.00"]}, 1)]
    assert overheads[0] > overheads[1] > overheads[2]  # fee overhead falls as the top-up grows
    # Demand jumps when the price falls to zero: a cent plus the cost of deciding turns half of them away.
    priced = run.run(small(**{"consumers[0].willingness_to_pay": "0.01"}))
    free = run.run(small(**{"consumers[0].willingness_to_pay": "0.01", "merchants[0].price": "0"}))
    assert priced.totals["declined_by_price"] > 0.3 * (priced.totals["attempts"] + priced.totals["declined_by_price"])
    assert free.totals["attempts"] > 1.5 * priced.totals["attempts"] and free.totals["payments"] == 0


def test_a_step_up_costs_conversion_under_the_eu_pack() -> None:
    eu = """
[scenario]
name = "eu"
seed = 5
days = 1
currency = "EUR"
policies = ["eu-de"]

[payments]
top_up = "50.00"

[[consumers]]
count = 4
arrivals_per_day = 24.0
willingness_to_pay = "1.00"
abandon_on_challenge = 0.25
country = "DE"

[[merchants]]
count = 1
price = "0.50"
country = "DE"

[policy]
tra = false
"""
    t = run.run(scenario.parse(eu)).totals
    assert t["step_ups"] > 0 and t["abandoned"] > 0 and t["conversion"] < 0.99  # every 6th payment steps up
    # With transaction-risk analysis, a platform whose fraud rate is nil exempts those payments too.
    tra = run.run(scenario.with_values(scenario.parse(eu), {"policy.tra": "true"})).totals
    assert tra["step_ups"] < t["step_ups"] and tra["conversion"] > t["conversion"]


def test_bad_scenarios_name_the_key_and_the_reason() -> None:
    bad = {
        "unknown key": (BASE.replace("[payments]", "[payments]\nsurprise = 1"), "payments.surprise"),
        "negative rate": (BASE.replace("arrivals_per_day = 12.0", "arrivals_per_day = -1.0"),
                          "consumers[0].arrivals_per_day"),
        "no one": (BASE.replace("count = 4", "count = 0"), "consumers"),
        "bad amount": (BASE.replace('price = "0.01"', 'price = "-0.01"'), "merchants[0].price"),
        "not toml": ("[scenario", "not TOML"),
        "device caps": (BASE + DEVICES.replace('per_day = "0.05"', 'per_day = "2.00"'), "devices[0]: need price"),
        "unknown fraud": (BASE + '[[fraudsters]]\ncount = 1\nkind = "phishing"\nattempts_per_day = 1.0\n',
                          "fraudsters[0].kind"),
    }  # fmt: skip
    for text, key in bad.values():
        with pytest.raises(scenario.ScenarioError) as refused:
            scenario.parse(text)
        assert key in str(refused.value), str(refused.value)
    for key in ("payments.nope", "merchants[3].price", "consumers[0].count.x"):
        with pytest.raises(scenario.ScenarioError):
            scenario.with_values(small(), {key: "1"})


def test_the_cli_runs_a_sweep_and_writes_a_report(tmp_path: Path) -> None:
    path = tmp_path / "small.toml"
    path.write_text(BASE)
    out = tmp_path / "out"
    done = subprocess.run(
        [sys.executable, "-m", "farthing.cli", "simulate", str(path), "--out", str(out), "--vary",
         "payments.top_up=1.00,4.00", "--runs", "2", "--workers", "1"],  # in process: Dask's is test_sim_spread
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "fee overhead" in done.stdout
    metrics = json.loads((out / "metrics.json").read_text())
    assert [p["values"] for p in metrics["points"]] == [{"payments.top_up": "1.00"}, {"payments.top_up": "4.00"}]
    assert all(len(p["runs"]) == 2 for p in metrics["points"])
    page = (out / "report.html").read_text()
    assert page.count("data:image/png;base64,") == 2 and "What moved" in page
    assert len((out / "metrics.csv").read_text().splitlines()) == 1 + 4
    bad = subprocess.run([sys.executable, "-m", "farthing.cli", "simulate", str(path), "--vary", "payments.top_up=x"],
                         capture_output=True, text=True, timeout=60)  # fmt: skip
    assert bad.returncode == 2 and "payments.top_up" in bad.stdout


def test_a_cap_of_zero_lets_no_capped_payment_through_and_a_higher_cap_lets_takeovers_drain_more() -> None:
    kr = scenario.load(Path(__file__).resolve().parents[2] / "scenarios" / "kr-cap.toml")
    kr = scenario.with_values(kr, {"scenario.days": "3", "consumers[0].count": "6"})
    rule = "policy.limits.kr.micropayment.monthly"
    zero, low, high = (run.run(scenario.with_values(kr, {rule: v})).totals for v in ("0", "50000", "1000000"))
    assert zero["payments"] == 0 and zero["fraud_lost"] == 0 and zero["honest_refused"] > 0
    assert low["fraud_lost"] < high["fraud_lost"] and low["honest_refused"] >= high["honest_refused"]


def test_disputed_thefts_are_paid_back_and_the_platform_loses_what_a_cashed_out_merchant_cannot_cover() -> None:
    kr = scenario.load(Path(__file__).resolve().parents[2] / "scenarios" / "kr-cap.toml")
    kr = scenario.with_values(
        kr, {"scenario.days": "3", "consumers[0].count": "6", "fraudsters[0].disputed_share": "1"}
    )
    kept, cashed = (run.run(scenario.with_values(kr, {"fraudsters[0].cash_out": v})).totals for v in ("false", "true"))
    for t in (kept, cashed):  # every theft of the first two days disputed (the third's come after the run)
        assert t["disputes"] > 0 and t["dispute_lost"] <= t["fraud_lost"]
    # The colluding merchant still held what it took: it pays back all but the platform's 2 % fee, which the
    # platform gives back itself. Cashed out every night, it held nothing: the platform pays the victims.
    assert 0 < kept["dispute_lost"] <= 0.02 * kept["fraud_lost"] < cashed["dispute_lost"]


def test_removing_the_low_value_exemption_costs_conversion_and_stops_takeovers() -> None:
    eu = scenario.load(Path(__file__).resolve().parents[2] / "scenarios" / "eu-sca.toml")
    eu = scenario.with_values(eu, {"scenario.days": "2"})
    on, off = (run.run(scenario.with_values(eu, {"policy.sca_exemption": v})).totals for v in ("true", "false"))
    assert off["step_ups_per_100_payments"] > 2 * on["step_ups_per_100_payments"]
    assert off["conversion"] < on["conversion"] - 0.1  # a challenge costs double-digit conversion
    assert off["fraud_lost"] < on["fraud_lost"]  # and stops the thief, who has no second factor


def test_channels_carry_the_same_payments_in_a_fraction_of_the_ledger_writes(tmp_path: Path) -> None:
    base = small(**{"consumers[0].arrivals_per_day": "200", "merchants[0].price": "0.001"})
    ledger = run.run(base)
    channel = run.run(scenario.with_values(base, {"payments.path": "channel"}), folder=tmp_path)
    assert channel.totals["payments"] == ledger.totals["payments"] > 2000  # the same draws, the same purchases
    assert ledger.totals["ledger_transfers_per_payment"] >= 2
    assert channel.totals["ledger_transfers_per_payment"] < 0.1
    assert channel.totals["platform_fees"] == pytest.approx(ledger.totals["platform_fees"], rel=0.01)
    store = open_ledger(f"sqlite:///{tmp_path}/sim.db")
    try:
        assert sum(a.credits_posted - a.debits_posted for a in store.accounts()) == 0
        assert audit.verify(store.engine.store).ok
    finally:
        store.close()


DEVICES = """
[[devices]]
count = 3
uses_per_day = 48.0
price = "0.002"
per_day = "0.05"
total = "1.00"
"""


def test_devices_pay_per_use_and_stop_at_their_owners_daily_cap(tmp_path: Path) -> None:
    """48 uses a day at 0.002 is 0.096 a day: the owner's 0.05 a day lets 25 through, the rest is refused."""
    result = run.run(small(DEVICES), folder=tmp_path)
    for d in result.days:
        assert d.device_payments == 3 * 25, d  # to the unit of the cap: 25 x 0.002 = 0.05, per device
        assert d.device_capped > 0
    uncapped = run.run(small(DEVICES, **{"devices[0].per_day": "1.00"}))
    assert uncapped.totals["device_capped"] == 0
    assert uncapped.totals["device_payments"] > result.totals["device_payments"]
    ledger = open_ledger(f"sqlite:///{tmp_path}/sim.db")
    try:
        assert sum(a.credits_posted - a.debits_posted for a in ledger.accounts()) == 0
    finally:
        ledger.close()


COLLUSION = """
[[fraudsters]]
count = 2
kind = "refund_collusion"
attempts_per_day = 10.0
test_amount = "0.50"
stolen_card_share = 0.5
"""


def test_a_colluding_merchant_cannot_refund_more_than_was_paid() -> None:
    t = run.run(small(COLLUSION)).totals
    assert t["fraud_attempted"] > 20
    assert t["fraud_stopped"] == t["fraud_attempted"]  # declined cards and refused over-refunds, every one
    stolen_top_ups = t["fraud_lost"] / 0.50
    assert 0 < stolen_top_ups < t["fraud_attempted"] and stolen_top_ups == round(stolen_top_ups)


def test_refund_collusion_under_the_eu_pack_runs_a_month_on_the_simulated_clock() -> None:
    """The ledger stamps batches with the simulated clock too: a refund days into a run is checked
    against the payment's own simulated day (it crashed with 'refund_window_closed: day 26' when the
    ledger's timestamps came from the real clock)."""
    t = run.run(scenario.parse(EU_WORLD + COLLUSION)).totals
    assert t["fraud_attempted"] > 200 and t["fraud_stopped"] == t["fraud_attempted"]
    assert t["payments"] > 100


EU_WORLD = """
[scenario]
name = "eu-collusion"
seed = 5
days = 30
currency = "EUR"
policies = ["eu-de"]

[payments]
top_up = "20.00"

[[consumers]]
count = 5
arrivals_per_day = 3.0
willingness_to_pay = "1.00"
mental_cost = "0.01"
country = "DE"

[[merchants]]
count = 2
price = "0.50"
country = "DE"
"""


def test_an_unguarded_top_up_flow_draws_card_testing_bursts_that_the_velocity_guard_stops() -> None:
    """Stylized fact 5 (docs/sources.md §9.5): card testing comes in bursts of tiny, mostly declined charges; a
    top-up flow without velocity limits takes all of them to the card network."""
    burst = """
[[fraudsters]]
count = 3
kind = "card_testing"
attempts_per_day = 60.0
test_amount = "0.50"
stolen_card_share = 0.1
burst_hours = 2
"""
    unguarded = run.run(small(burst, **{"payments.top_up_guard": "false"})).totals
    guarded = run.run(small(burst)).totals
    assert unguarded["fraud_attempted"] == guarded["fraud_attempted"] > 300  # the same attacks (common draws)
    assert unguarded["fraud_paused"] == 0
    assert unguarded["fraud_stopped"] > 0.8 * unguarded["fraud_attempted"]  # ~90 % declined by the issuers
    assert guarded["fraud_paused"] > 0.8 * guarded["fraud_attempted"]  # stopped before the card network
    assert guarded["fraud_lost"] < 0.3 * unguarded["fraud_lost"]
    assert guarded["payments"] == unguarded["payments"]  # honest payers do not notice the guard


def test_a_card_charge_per_ten_cent_purchase_costs_three_times_the_purchase_and_top_ups_amortise_it() -> None:
    """Stylized fact 4 (docs/sources.md §9.4): at 2.9 % + 30¢, a 10¢ sale loses 303 %; a wallet topped up with
    $5 at a time spreads the fixed 30¢ over fifty purchases (≈ 9 %: why tabs and top-ups emerge)."""
    ten_cents = {"merchants[0].price": "0.10", "consumers[0].willingness_to_pay": "1.00"}
    per_purchase = run.run(small(**ten_cents, **{"payments.top_up": "0.10", "payments.top_up_when_below": "0.10"}))
    t = per_purchase.totals
    assert t["payments"] > 50 and t["top_ups"] == t["payments"]  # one card charge for each purchase
    assert t["fee_overhead"] == pytest.approx(3.029, abs=0.001)  # (0.30 + 0.029 * 0.10) / 0.10
    busy = {**ten_cents, "consumers[0].arrivals_per_day": "60", "payments.top_up": "5.00"}
    wallet = run.run(small(**busy, **{"scenario.days": "10"})).totals
    assert wallet["payments"] > 20 * wallet["top_ups"] and wallet["fee_overhead"] < 0.12


def test_the_first_cent_loses_far_more_demand_than_the_second() -> None:
    """Stylized fact 1 (the zero-price cliff): with a mental transaction cost of deciding to pay (2¢ here,
    for an item worth about 2¢ to a reader), 0 → 1¢ turns away far more readers than 1¢ → 2¢."""

    def demand(price: str) -> float:
        changes = {"merchants[0].price": price, "consumers[0].willingness_to_pay": "0.02",
                   "consumers[0].mental_cost": "0.02", "consumers[0].count": "100"}  # fmt: skip
        t = run.run(small(**changes)).totals
        return t["attempts"] / (t["attempts"] + t["declined_by_price"])

    free, one, two = demand("0"), demand("0.01"), demand("0.02")
    assert free == 1.0 and free - one > 3 * (one - two) > 0


@pytest.mark.postgres
def test_a_run_on_postgresql_gives_the_same_metrics_and_leaves_nothing_behind(pg_database: str) -> None:
    """The same world on PostgreSQL (a schema made for the run) as on SQLite: every metric the same,
    and the schema dropped after the run."""
    import psycopg

    world = small(
        "\n[[fraudsters]]\ncount = 1\nattempts_per_day = 24\nstolen_card_share = 0.2\n",
        **{"scenario.days": "2"},
    )

    def schemas() -> set[str]:
        with psycopg.connect(pg_database) as conn:
            rows = conn.execute("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'farthing_sim_%'").fetchall()
        return {r[0] for r in rows}

    before = schemas()
    on_sqlite, on_postgres = run.run(world), run.run(world, postgres=pg_database)
    assert on_postgres.totals == on_sqlite.totals and on_postgres.totals["payments"] > 50
    assert [d.as_row(100) for d in on_postgres.days] == [d.as_row(100) for d in on_sqlite.days]
    assert schemas() == before


def test_a_run_refuses_a_database_that_is_not_postgresql() -> None:
    with pytest.raises(StoreError) as refused:
        run.run(small(), postgres="mysql://localhost/x")
    assert refused.value.code is ErrorCode.database_url_invalid


def test_a_sweep_of_two_keys_draws_one_line_for_each_value_of_the_second(tmp_path: Path) -> None:
    """The channels study "as volume grows": volume on the x axis, a line per payment path; amounts are
    told in the scenario's currency, shares as percentages."""
    base = small(**{"consumers[0].willingness_to_pay": "0.01", "payments.channel_deposit": "1.00"})
    points = sweep(base, {"consumers[0].arrivals_per_day": ["12", "48"], "payments.path": ["ledger", "channel"]}, 1)
    page = report.write(points, tmp_path).read_text()
    assert page.count("data:image/png;base64,") == 2
    assert "against consumers[0].arrivals_per_day, one line for each payments.path" in page
    per_payment = {(p.values["consumers[0].arrivals_per_day"], p.values["payments.path"]):
                   p.mean["ledger_transfers_per_payment"] for p in points}  # fmt: skip
    assert per_payment["12", "ledger"] >= 2 > per_payment["12", "channel"] > per_payment["48", "channel"]
    assert report.told("value", 1234.5, "USD") == "1,234.50 USD"
    assert report.told("value", 983333, "KRW") == "983,333 KRW"
    assert report.told("fee_overhead", 0.116, "USD") == "11.6 %"
    assert report.told("payments", 983.3333, "USD") == "983.3"


def test_a_monthly_budget_caps_each_consumers_spending_and_renews_with_the_month() -> None:
    """5¢ a month at 1¢ an item: at most five purchases each in January (31 days), five more in February."""
    budget = {"consumers[0].budget_per_month": "0.05", "consumers[0].arrivals_per_day": "6"}
    january = run.run(small(**budget, **{"scenario.days": "31"})).totals
    assert january["payments"] == 4 * 5 and january["declined_by_budget"] > 0
    assert january["attempts"] == january["payments"]  # what the budget turned away was never attempted
    both = run.run(small(**budget, **{"scenario.days": "40"})).totals
    assert both["payments"] == 4 * 10
    unlimited = run.run(small(**{"consumers[0].arrivals_per_day": "6", "scenario.days": "31"})).totals
    assert unlimited["declined_by_budget"] == 0 and unlimited["payments"] > 100


def test_arrivals_follow_the_hourly_profile() -> None:
    evening = [0.0] * 18 + [1.0, 2.0, 3.0, 2.0, 1.0, 0.0]
    base = small(**{"consumers[0].arrivals_per_day": "24"})

    def profiled(weights: list[float]) -> scenario.Scenario:
        group = {**base.consumers[0].model_dump(), "hourly_profile": weights}
        return scenario.validate({**base.model_dump(), "consumers": [group]})

    s = profiled(evening)
    assert s.consumers[0].hourly_means()[20] == pytest.approx(24 * 3 / 9)
    result = run.run(s)
    assert sum(result.hours) == result.totals["payments"] > 100
    assert all(n == 0 for h, n in enumerate(result.hours) if not 18 <= h <= 22)
    assert result.hours[20] > result.hours[18] and result.hours[20] > result.hours[22]
    flat = run.run(base)
    assert sum(1 for n in flat.hours if n) == 24  # no profile: every hour has its share
    with pytest.raises(scenario.ScenarioError, match=r"consumers\[0\]\.hourly_profile"):
        profiled([1.0])
    with pytest.raises(scenario.ScenarioError, match="not all zero"):
        profiled([0.0] * 24)


def test_a_consumer_refused_may_give_up_for_the_rest_of_the_day() -> None:
    """Under a Korean cap that refuses, consumers who walk away after a refusal try less often: fewer
    refusals, the lost occasions counted; with no chance of walking away, nobody does."""
    kr = scenario.load(Path(__file__).resolve().parents[2] / "scenarios" / "kr-cap.toml")
    kr = scenario.with_values(kr, {"scenario.days": "4", "consumers[0].count": "6",
                                   "policy.limits.kr.micropayment.monthly": "5000"})  # fmt: skip
    stays = run.run(scenario.with_values(kr, {"consumers[0].abandon_on_refusal": "0"})).totals
    leaves = run.run(scenario.with_values(kr, {"consumers[0].abandon_on_refusal": "1"})).totals
    assert stays["walked_away"] == 0 and stays["honest_refused"] > 6 * 4
    assert leaves["walked_away"] > 0 and leaves["honest_refused"] <= 6 * 4  # once a day each, at most
    assert leaves["payments"] == stays["payments"]  # the cap, not the walking away, decides what is paid


def test_raising_the_exemption_threshold_lets_takeovers_through_under_it() -> None:
    """Stylized fact 3 (fraud moves to the gaps): €5 takeovers are stepped up, and stopped, while the
    low-value exemption ends below €5; once it reaches €5 they pass as exempt, while the honest €0.50
    payments, exempt either way, barely change."""
    eu = scenario.load(Path(__file__).resolve().parents[2] / "scenarios" / "eu-sca.toml")
    eu = scenario.with_values(eu, {"scenario.days": "3"})
    below, at = (run.run(scenario.with_values(eu, {"policy.sca_single_max": v})).totals for v in ("4.99", "5.00"))
    assert below["fraud_attempted"] == at["fraud_attempted"] > 0
    assert below["fraud_lost"] == 0 < at["fraud_lost"]
    assert abs(below["payments"] - at["payments"]) <= 0.02 * below["payments"]
    with pytest.raises(scenario.ScenarioError, match=r"policy\.sca_single_max"):
        scenario.with_values(eu, {"policy.sca_single_max": "-1"})
