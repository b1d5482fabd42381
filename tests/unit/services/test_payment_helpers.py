"""Helpers on the payment path agree with the slower code they stand for."""

from __future__ import annotations

import dataclasses

from hypothesis import given
from hypothesis import strategies as st

from farthing.domain.policy.evaluate import Evidence
from farthing.services.payments.model import with_billing as _with_billing

countries = st.none() | st.sampled_from(["DE", "FR", "US", "KR"])


@given(st.builds(Evidence, countries, countries, countries, countries, st.none() | st.just("WA"), countries), countries)
def test_the_billing_country_joins_the_evidence_as_replace_would(evidence: Evidence, country: str | None) -> None:
    assert _with_billing(evidence, country) == dataclasses.replace(evidence, billing=country)
    assert _with_billing(None, country) == dataclasses.replace(Evidence(), billing=country)
    assert len(dataclasses.fields(Evidence)) == 6  # a new field must be copied by _with_billing too
