"""`/v1/disputes`: a payer (or, through the operator, its card processor) disputes a payment; the merchant
answers with evidence; the operator records how it was decided. Each step moves money in the ledger and
sends a webhook (`farthing.services.disputes`)."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from pydantic import Field, StrictStr

from farthing.api.deps import Amount, IdempotencyKey, InModel, PlatformDep, PrincipalDep, idempotency_key_of
from farthing.api.mode import Moded
from farthing.domain.disputes import EVIDENCE_CHARS_MAX, REASONS, Dispute
from farthing.domain.money import currency

router = APIRouter(tags=["disputes"])
Reason = Literal["fraudulent", "not_received", "not_as_described", "duplicate", "unrecognized", "other"]
assert set(Reason.__args__) == set(REASONS)  # type: ignore[attr-defined]


class DisputeIn(InModel):
    amount: Amount | None = Field(default=None, description="what is disputed (all that is left of the payment)")
    reason: Reason


class EvidenceIn(InModel):
    evidence: StrictStr = Field(min_length=1, max_length=EVIDENCE_CHARS_MAX,
                                examples=["The reader opened the article on 2026-11-03."])  # fmt: skip


class OutcomeIn(InModel):
    outcome: Literal["won", "lost"] = Field(description="won: for the merchant; lost: the payer is paid back")


class DisputeOut(Moded):
    id: str
    object: Literal["dispute"] = "dispute"
    payment: str
    customer: str
    merchant: str
    currency: str
    amount: str
    held_from_merchant: str = Field(description="held from the merchant's balance while the dispute is open")
    covered_by_platform: str = Field(description="what the merchant's balance could not cover")
    reason: str
    status: Literal["needs_response", "under_review", "won", "lost"]
    evidence: str | None
    opened_ms: int
    due_ms: int = Field(description="the merchant's evidence is taken until then")
    closed_ms: int | None


def _out(d: Dispute) -> DisputeOut:
    cur = currency(d.currency)
    return DisputeOut(id=d.id, payment=d.payment, customer=d.customer, merchant=d.merchant, currency=d.currency,
                      amount=cur.format(d.amount), held_from_merchant=cur.format(d.from_merchant),
                      covered_by_platform=cur.format(d.from_platform), reason=d.reason, status=d.status,  # type: ignore[arg-type]
                      evidence=d.evidence, opened_ms=d.opened_ms, due_ms=d.due_ms, closed_ms=d.closed_ms)  # fmt: skip


@router.post("/v1/payments/{payment_id}/disputes", status_code=201, response_model=DisputeOut)
def open_dispute(
    payment_id: str, body: DisputeIn, principal: PrincipalDep, platform: PlatformDep,
    idempotency_key: IdempotencyKey = None,
) -> DisputeOut:  # fmt: skip
    """Dispute a payment: its payer, or the operator for the payer's card processor."""
    made = platform.disputes.open(principal, payment_id, body.amount, body.reason, idempotency_key_of(idempotency_key))
    return _out(made)


@router.get("/v1/disputes", response_model=list[DisputeOut])
def list_disputes(principal: PrincipalDep, platform: PlatformDep) -> list[DisputeOut]:
    """A merchant's or a customer's disputes, newest first; for the operator, those not decided yet."""
    return [_out(d) for d in platform.disputes.list(principal)]


@router.get("/v1/disputes/{dispute_id}", response_model=DisputeOut)
def get_dispute(dispute_id: str, principal: PrincipalDep, platform: PlatformDep) -> DisputeOut:
    return _out(platform.disputes.get(principal, dispute_id))


@router.post("/v1/disputes/{dispute_id}/evidence", response_model=DisputeOut)
def submit_evidence(dispute_id: str, body: EvidenceIn, principal: PrincipalDep, platform: PlatformDep) -> DisputeOut:
    """The merchant's answer, once, before the dispute's due date."""
    return _out(platform.disputes.answer(principal, dispute_id, body.evidence))


@router.post("/v1/disputes/{dispute_id}/outcome", response_model=DisputeOut)
def decide(dispute_id: str, body: OutcomeIn, principal: PrincipalDep, platform: PlatformDep) -> DisputeOut:
    """How the card processor (or the operator) decided it."""
    return _out(platform.disputes.decide(principal, dispute_id, body.outcome))
