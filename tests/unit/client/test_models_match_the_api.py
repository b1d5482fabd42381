"""The client's objects are the API's answers as the OpenAPI document publishes them: each field of a
client model is a property of its schema, and each property the schema requires is a field of the model.
So the client's copy of a shape cannot drift from the server's without this failing."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from farthing.api.app import create_app
from farthing.client import models

PAIRS = {
    models.Payment: "PaymentOut", models.Refund: "RefundOut", models.TopUp: "TopUpOut", models.Wallet: "WalletOut",
    models.Transaction: "TransactionOut", models.Party: "PartyOut", models.ApiKey: "KeyOut",
    models.WebhookEndpoint: "EndpointOut", models.WebhookEndpointInfo: "EndpointSummaryOut",
    models.WebhookAttempt: "AttemptOut", models.Channel: "ChannelOut",
    models.Redemption: "RedemptionOut", models.Allowance: "AllowanceOut", models.AllowanceCharge: "ChargeOut",
    models.PaymentLine: "PaymentLineOut", models.PaymentPage: "PaymentListOut",
}  # fmt: skip
CLIENT_ONLY = {"replayed"}
"""Read from the answer's `Idempotent-Replayed` header, not its body."""


@pytest.fixture(scope="module")
def schemas() -> dict[str, Any]:
    spec: dict[str, Any] = create_app(lambda: None).openapi()  # type: ignore[arg-type, return-value]
    return spec["components"]["schemas"]  # type: ignore[no-any-return]


@pytest.mark.parametrize("model", list(PAIRS), ids=lambda m: m.__name__)
def test_a_client_model_has_the_fields_of_its_schema(model: type, schemas: dict[str, Any]) -> None:
    schema = schemas[PAIRS[model]]
    mine = {f.name for f in dataclasses.fields(model)} - CLIENT_ONLY
    assert mine <= set(schema["properties"]), sorted(mine - set(schema["properties"]))
    assert set(schema.get("required", ())) - {"object"} <= mine, sorted(set(schema["required"]) - mine)
