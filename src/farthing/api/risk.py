"""`/v1/risk`: the operator's review queue (payments the risk engine stepped up or refused, with its reasons)
and labels (fraud or not) that teach the behavioural model and make the platform's fraud rate
(`farthing.services.risk_labels`)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field, StrictBool, StrictStr

from farthing.api.deps import InModel, PlatformDep, PrincipalDep
from farthing.api.mode import Moded
from farthing.api.payment_out import RiskReasonOut
from farthing.domain.money import currency
from farthing.domain.risk.records import Label, Review
from farthing.services.risk_labels import NOTE_MAX, REVIEWS_MAX

router = APIRouter(tags=["risk"])


class LabelIn(InModel):
    payment: StrictStr = Field(min_length=1, max_length=64, examples=["pay_aaaaaaaaaaaaaaaaaaaaaaaaaa"])
    fraud: StrictBool = Field(description="true: the payment was fraud; false: it was not")
    note: StrictStr = Field(default="", max_length=NOTE_MAX)


class LabelOut(Moded):
    object: Literal["risk_label"] = "risk_label"
    payment: str
    fraud: bool
    paid: bool = Field(description="the payment was made (a refused one is labelled for the model only)")
    amount: str
    currency: str
    source: Literal["operator", "dispute"]
    note: str
    labelled_ms: int


class ReviewOut(BaseModel):
    payment: str
    customer: str
    merchant: str
    amount: str
    currency: str
    score: int
    outcome: Literal["step_up", "deny"]
    reasons: list[RiskReasonOut]
    created_ms: int
    label: LabelOut | None


class ReviewsOut(Moded):
    object: Literal["list"] = "list"
    data: list[ReviewOut]


def _label(x: Label) -> LabelOut:
    return LabelOut(payment=x.payment, fraud=x.fraud, paid=x.paid, amount=currency(x.currency).format(x.amount),
                    currency=x.currency, source=x.source, note=x.note, labelled_ms=x.labelled_ms)  # type: ignore[arg-type]  # fmt: skip


def _review(r: Review, label: Label | None) -> ReviewOut:
    return ReviewOut(payment=r.payment, customer=r.customer, merchant=r.merchant,
                     amount=currency(r.currency).format(r.amount), currency=r.currency, score=r.score,
                     outcome=r.outcome,  # type: ignore[arg-type]
                     reasons=[RiskReasonOut(rule=rule, says=says) for rule, says in r.reasons],
                     created_ms=r.created_ms, label=_label(label) if label else None)  # fmt: skip


@router.get("/v1/risk/reviews", response_model=ReviewsOut)
def list_reviews(
    principal: PrincipalDep, platform: PlatformDep, limit: Annotated[int, Query(ge=1, le=REVIEWS_MAX)] = 50
) -> ReviewsOut:
    """The newest payments the risk engine stepped up or refused, with its score and reasons, and each one's
    label once it has one (operator)."""
    return ReviewsOut(data=[_review(r, x) for r, x in platform.risk_labels.reviews(principal, limit)])


@router.post("/v1/risk/labels", status_code=201, response_model=LabelOut)
def label_payment(body: LabelIn, principal: PrincipalDep, platform: PlatformDep) -> LabelOut:
    """Label a payment fraud or not, once (a second label: 409 `already_labelled`): the behavioural model
    learns from it, and a fraud label counts in the platform's fraud rate (operator)."""
    return _label(platform.risk_labels.label(principal, body.payment, body.fraud, body.note))
