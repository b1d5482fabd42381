"""The schema fuzz (tests/e2e/schema_fuzz.py) against a server on PostgreSQL."""

from __future__ import annotations

import pytest

from .schema_fuzz import api_schema, customer_key, test_no_server_errors_and_responses_match_the_schema

__all__ = ["api_schema", "customer_key", "test_no_server_errors_and_responses_match_the_schema"]

pytestmark = pytest.mark.parametrize("server", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True)
