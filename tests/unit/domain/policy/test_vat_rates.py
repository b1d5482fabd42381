"""Every EU member state's VAT, from the day each rate applies: a payer in any member state is taxed
at its country's standard rate in force on the payment's day, and a rate change is a row, not an edit."""

from __future__ import annotations

from datetime import datetime

import pytest

from farthing.domain.policy.evaluate import Context, Evidence, evaluate
from farthing.domain.policy.load import PolicyError, compose, parse
from farthing.services.policies import load, shipped

MEMBER_STATES = [
    "AT",
    "BE",
    "BG",
    "HR",
    "CY",
    "CZ",
    "DK",
    "EE",
    "FI",
    "FR",
    "DE",
    "GR",
    "HU",
    "IE",
    "IT",
    "LV",
    "LT",
    "LU",
    "MT",
    "NL",
    "PL",
    "PT",
    "RO",
    "SK",
    "SI",
    "ES",
    "SE",
]


def _at(day: str) -> int:
    return int(datetime.fromisoformat(f"{day}T12:00:00+01:00").timestamp()) * 1000


def _rate(pack: str, country: str, day: str) -> int | None:
    ctx = Context(amount=500_000, currency="EUR", now_ms=_at(day), evidence=Evidence(billing=country, ip=country))
    decided = evaluate(load(pack), ctx)
    assert decided.outcome == "allow", decided.explain()
    return decided.tax.rate_ppm if decided.tax is not None else None


@pytest.mark.parametrize("country", MEMBER_STATES)
def test_a_payer_in_every_member_state_is_taxed_at_its_standard_rate(country: str) -> None:
    assert _rate("eu-de", country, "2026-12-06") is not None


@pytest.mark.parametrize(
    ("country", "day", "percent"),
    [
        ("AT", "2026-12-06", 20), ("DE", "2020-06-30", 19), ("DE", "2020-07-01", 16), ("DE", "2021-01-01", 19),
        ("EE", "2025-06-30", 22), ("EE", "2025-07-01", 24), ("FI", "2024-08-31", 24), ("FI", "2024-09-01", 25.5),
        ("LU", "2023-06-01", 16), ("LU", "2024-06-01", 17), ("RO", "2025-07-31", 19), ("RO", "2025-08-01", 21),
        ("SK", "2024-12-31", 20), ("SK", "2025-01-01", 23), ("IE", "2020-12-01", 21), ("GR", "2026-01-01", 24),
    ],
)  # fmt: skip
def test_the_rate_in_force_on_the_payments_day(country: str, day: str, percent: float) -> None:
    assert _rate("eu-de", country, day) == int(percent * 10_000)


def test_an_austrian_payer_pays_fifty_cents_under_the_german_pack() -> None:
    ctx = Context(amount=500_000, currency="EUR", now_ms=_at("2026-12-06"), evidence=Evidence(billing="AT", ip="AT"))
    decided = evaluate(load("eu-de"), ctx)
    assert decided.outcome == "allow" and decided.tax is not None
    assert (decided.tax.place, decided.tax.amount) == ("AT", 83_333)  # 0.50 x 20/120


def test_before_a_places_first_row_there_is_no_rate() -> None:
    ctx = Context(amount=500_000, currency="EUR", now_ms=_at("2014-12-31"), evidence=Evidence(billing="DE", ip="DE"))
    decided = evaluate(load("eu-de"), ctx, explain=True)
    assert decided.outcome == "deny" and "no vat rate for DE" in decided.explain()


EBOOKS = """
[pack]
id = "press"
extends = ["eu-de"]

[tax]
id = "eu.vat.ess"
kind = "vat"
inclusive = true
supply = "ebooks"
schedule = [
  { place = "DE", percent = "19", from = "2015-01-01" },
  { place = "DE", percent = "7", from = "2015-01-01", supply = "ebooks" },
]
source = "a publisher's pack: e-books at the reduced rate"
"""


def test_a_pack_may_choose_the_reduced_rate_for_e_books() -> None:
    policy = compose({**shipped(), "press": parse(EBOOKS, "press.toml")}, "press")
    assert policy.tax is not None and policy.tax.schedule["DE"] == ((16436, 70_000),)


@pytest.mark.parametrize(
    ("rows", "why"),
    [
        ('{ place = "DE", percent = "19", from = "2015-01-01" }, { place = "DE", percent = "7", from = "2015-01-01" }',
         "two rates from 2015-01-01"),
        ('{ place = "DEU", percent = "19", from = "2015-01-01" }', "is not a country"),
        ('{ place = "DE", percent = "19", from = "2015-13-01" }', "is not a day"),
        ('{ place = "DE", percent = "190", from = "2015-01-01" }', "a percentage from 0 to 100"),
    ],
)  # fmt: skip
def test_bad_rows_are_refused_naming_the_row(rows: str, why: str) -> None:
    text = EBOOKS.replace('supply = "ebooks"\n', "").split("schedule = [")[0] + f"schedule = [{rows}]\nsource = 'x'\n"
    with pytest.raises(PolicyError) as refused:
        compose({**shipped(), "press": parse(text, "press.toml")}, "press")
    assert why in refused.value.detail and "schedule[" in refused.value.detail, refused.value.detail
