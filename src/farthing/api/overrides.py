"""A merchant's override of the platform's policy for one currency: put, read and drop it."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field, StrictStr

from farthing.api.deps import InModel, PlatformDep, PrincipalDep
from farthing.api.mode import Moded
from farthing.bootstrap import Platform
from farthing.domain.money import currency
from farthing.domain.policy.model import Policy
from farthing.domain.principals import Principal, require_scope
from farthing.errors import ErrorCode, PlatformError
from farthing.services.overrides import SOURCE_MAX, Override, OverrideError

router = APIRouter(tags=["policy"])

EXAMPLE = """[pack]
id = "my-shop"
merchant_override = true

[[limits]]
id = "kr.micropayment.monthly"
period = "month"
max = "300000"
currency = "KRW"
source = "our own lower cap for new readers"
"""


class OverrideIn(InModel):
    toml: StrictStr = Field(
        min_length=1, max_length=SOURCE_MAX, description="the override pack (merchant_override = true)",
        examples=[EXAMPLE],
    )  # fmt: skip


class RuleOut(BaseModel):
    id: str
    source: str


class OverrideOut(Moded):
    object: Literal["policy_override"] = "policy_override"
    currency: str
    pack: str = Field(description="the platform's pack the override is composed over")
    version: str = Field(description="the composed policy's version, as payments record it")
    toml: str
    rules: list[RuleOut] = Field(description="every rule in force for this merchant's payments, and its source")
    updated_ms: int


def _base(platform: Platform, principal: Principal, currency_code: str) -> Policy:
    if principal.kind != "merchant" or principal.party_id is None:
        raise PlatformError(ErrorCode.forbidden, "a policy override is a merchant's")
    code = currency(currency_code).code
    base = platform.policy.for_currency(code)
    if base is None:
        raise PlatformError(ErrorCode.policy_invalid, f"no policy decides {code} payments here: nothing to override")
    return base


def _out(o: Override) -> OverrideOut:
    rules = [RuleOut(id=rule_id, source=source) for rule_id, source in o.policy.rule_sources.items()]
    return OverrideOut(currency=o.currency, pack=o.policy.id, version=o.policy.version, toml=o.source, rules=rules,
                       updated_ms=o.updated_ms)  # fmt: skip


@router.put("/v1/policy_overrides/{currency_code}", response_model=OverrideOut)
def put_override(currency_code: str, body: OverrideIn, principal: PrincipalDep, platform: PlatformDep) -> OverrideOut:
    """Tighten the platform's policy for your payments in one currency: lower limits, stricter SCA
    thresholds, longer refund windows. An override that would loosen a legal rule, or that does not
    parse, is refused with the reason (`policy_invalid`) and the one in force stays. Applies to new
    payments within a second, in every server process."""
    base = _base(platform, principal, currency_code)
    assert principal.party_id is not None
    require_scope(principal, "policy:write")
    try:
        return _out(platform.policy.overrides.put(base, principal.party_id, body.toml, platform.clock()))
    except OverrideError as exc:
        raise PlatformError(exc.code, exc.detail) from None


@router.get("/v1/policy_overrides/{currency_code}", response_model=OverrideOut)
def get_override(currency_code: str, principal: PrincipalDep, platform: PlatformDep) -> OverrideOut:
    """Your override for a currency, and the rules in force with it."""
    base = _base(platform, principal, currency_code)
    assert principal.party_id is not None
    found = platform.policy.overrides.get(base, principal.party_id)
    if found is None:
        raise PlatformError(ErrorCode.not_found, f"no override for {base.currency}: the {base.id!r} pack decides")
    return _out(found)


@router.delete("/v1/policy_overrides/{currency_code}", status_code=204)
def delete_override(currency_code: str, principal: PrincipalDep, platform: PlatformDep) -> None:
    """Drop your override: the platform's pack decides your payments again."""
    base = _base(platform, principal, currency_code)
    assert principal.party_id is not None
    require_scope(principal, "policy:write")
    if not platform.policy.overrides.delete(base, principal.party_id):
        raise PlatformError(ErrorCode.not_found, f"no override for {base.currency}")
