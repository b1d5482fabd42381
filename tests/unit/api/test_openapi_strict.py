"""The OpenAPI document says what the server accepts: amounts as non-null decimal strings, currencies as
three letters, an Idempotency-Key of 1 to 255 characters. Schemathesis then generates only requests the
server could take, and its negative cases are ones the server refuses (tests/e2e/test_schema.py)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from farthing.api.app import create_app
from farthing.domain.money import currency
from farthing.errors import FarthingError
from farthing.services.amounts import positive_money

SPEC: dict[str, Any] = create_app(lambda: None).openapi()  # type: ignore[arg-type, return-value]
SCHEMAS = SPEC["components"]["schemas"]


def _body(model: str, field: str) -> dict[str, Any]:
    return dict(SCHEMAS[model]["properties"][field])


@pytest.mark.parametrize("model", ["PaymentIn", "TopUpIn", "ChannelIn", "AllowanceIn"])
def test_amounts_and_currencies_are_strings_of_their_shape(model: str) -> None:
    props = SCHEMAS[model]["properties"]
    amounts = [f for f in props if f == "amount" or f.startswith("max_")]
    for field in amounts:
        schema = _body(model, field)
        assert schema["type"] == "string" and "pattern" in schema, (model, field, schema)
    assert _body(model, "currency")["pattern"] == "^[A-Za-z]{3}$"


@pytest.mark.parametrize(
    ("amount", "accepted"), [("0.001", True), ("12", True), ("1e-3", False), ("-1", False), ("", False), (" 1", False)]
)
def test_the_amount_pattern_agrees_with_the_server(amount: str, accepted: bool) -> None:
    pattern = _body("PaymentIn", "amount")["pattern"]
    assert bool(re.match(pattern, amount)) is accepted
    if not accepted:
        with pytest.raises(FarthingError):
            positive_money(amount, "USD")
    else:
        assert positive_money(amount, "USD").units > 0


@pytest.mark.parametrize("code", ["USD", "usd", "KRW"])
def test_the_currency_pattern_admits_the_codes_the_server_knows(code: str) -> None:
    assert re.match(_body("PaymentIn", "currency")["pattern"], code) and currency(code)


def test_the_idempotency_key_header_is_a_string_of_1_to_255() -> None:
    [header] = [p for p in SPEC["paths"]["/v1/payments"]["post"]["parameters"] if p["name"] == "idempotency-key"]
    assert {k: header["schema"][k] for k in ("type", "minLength", "maxLength")} == {
        "type": "string", "minLength": 1, "maxLength": 255,
    }  # fmt: skip
