"""Schemathesis against `/openapi.json` of a real server: generated requests never cause a 5xx, and every
response (status, content type, headers, body) matches the schema. Bounded (a few examples an
operation) to stay quick; a larger run is `FARTHING_SCHEMA_EXAMPLES=500 pytest tests/e2e/test_schema*.py`.

The tests live here; test_schema.py runs them on SQLite and test_schema_postgres.py on PostgreSQL, files of
their own so that `--dist loadfile` puts the two stores on different workers."""

from __future__ import annotations

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.core.parameters import ParameterLocation
from schemathesis.specs.openapi.schemas import OpenApiSchema

import calls

from .conftest import Server

EXAMPLES = int(os.environ.get("FARTHING_SCHEMA_EXAMPLES", "8"))


@pytest.fixture
def api_schema(server: Server) -> OpenApiSchema:
    return schemathesis.openapi.from_url(f"{server.base}/openapi.json")


@pytest.fixture
def customer_key(server: Server) -> str:
    r = calls.post(
        f"{server.base}/v1/customers", json={"name": "Fuzz"}, headers={"Authorization": f"Bearer {server.operator}"}
    )
    key: str = r.json()["api_key"]["secret"]
    calls.post(
        f"{server.base}/v1/topups",
        json={"amount": "1.00", "currency": "USD", "card_number": "4242424242424242"},
        headers={"Authorization": f"Bearer {key}"},
    )
    return key


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_server_errors_and_responses_match_the_schema(
    case: schemathesis.Case, server: Server, customer_key: str
) -> None:
    # A case made invalid in its headers (its Authorization left out) goes without a key: ours would make
    # it valid, and its 200 would read as invalid data accepted.
    keys = [None] if case.meta is not None and case.meta.is_negative_at(ParameterLocation.HEADER) else None
    for key in keys or (customer_key, server.operator):
        case.call_and_validate(
            base_url=server.base,
            headers={"Authorization": f"Bearer {key}"} if key else None,
            # A well-formed payment can still be refused by the books (402 insufficient funds, 409 a
            # captured hold, 404 an unknown merchant): acceptance of schema-valid data is not a rule here.
            excluded_checks=[schemathesis.checks.positive_data_acceptance],
        )
