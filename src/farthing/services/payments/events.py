"""What a payment tells: the webhook event riding with its transfer, and the summary of the policy's
decision it records (read back by `Decisions`)."""

from __future__ import annotations

import json
from typing import Protocol

from pydantic_core import to_json

from farthing.domain.money import Currency
from farthing.domain.policy.evaluate import Decision, local_day_and_month
from farthing.engine.store import OutboxEvent
from farthing.services.payments.model import Payment, formatted


def payment_event(payment: Payment, event_type: str) -> OutboxEvent:
    """The webhook event that rides with a payment's transfer: `payment.succeeded`, `payment.canceled`…
    With the policy's decision when one was made: its version, exemption and the tax it found."""
    event_id = f"evt_{payment.id.removeprefix('pay_')}_{event_type.rpartition('.')[2]}"
    amount, fee = formatted(payment)
    data: dict[str, object] = {
        "id": payment.id, "object": "payment", "status": event_type.rpartition(".")[2], "customer": payment.customer,
        "merchant": payment.merchant, "amount": amount, "fee": fee, "currency": payment.currency,
        "reference": payment.reference,
    }  # fmt: skip
    if payment.policy is not None:
        data["policy"] = payment.policy
    if payment.risk is not None:
        data["risk"] = payment.risk
    body = to_json({"id": event_id, "type": event_type, "data": data}).decode()  # compact, in Rust
    return OutboxEvent(event_id, event_type, payment.merchant, body)


def decision_summary(d: Decision, cur: Currency, withdrawal_waived: bool = False) -> dict[str, object]:
    """What a payment records of the policy's decision (in its event, and in the API's answers), and
    whether the payer waived its right of withdrawal. With the decision's time and its day and month in
    the policy's calendar: the payment counted there, so its refunds, withdrawal window and tax base are
    taken from them (never from when the ledger happened to commit it, a moment later)."""
    tax, after = d.tax, d.counters_after
    assert d.source is not None
    policy, ctx = d.source
    # An allowed decision's counters already name its day and month; a step-up's are worked out here.
    day, month = (after.day, after.month) if after is not None else local_day_and_month(ctx.now_ms, policy.timezone)
    return {
        "version": d.policy_version,
        "decided_ms": ctx.now_ms,
        "day": day,
        "month": month,
        "sca_exemption": d.sca_exemption,
        "tax": None
        if tax is None
        else {"place": tax.place, "kind": tax.kind, "amount": cur.format(tax.amount), "inclusive": tax.inclusive},
        "withdrawal_waived": withdrawal_waived,
    }


class EventBodies(Protocol):
    def bodies(self, event_ids: list[str]) -> list[str]:
        """The bodies of those events that were written, in the order they were written."""
        ...


class Decisions:
    """The policy's decisions on payments, as their events recorded them."""

    def __init__(self, events: EventBodies) -> None:
        self.events = events

    def _recorded(self, public_id: str) -> list[dict[str, object]]:
        """What the payment's events recorded, in the order they were written."""
        base = public_id.removeprefix("pay_")
        bodies = self.events.bodies(
            [f"evt_{base}_succeeded", f"evt_{base}_requires_capture", f"evt_{base}_requires_authentication"]
        )
        return [json.loads(body)["data"] for body in bodies]

    def decision_of(self, public_id: str, counted: bool = False) -> dict[str, object] | None:
        """The policy's decision on a payment, as its first event recorded it (None: no policy decided).
        With `counted`, the decision under which it was paid and counted: a captured hold's capture (its
        day, month and tax base), a payment's own decision otherwise."""
        return _decision(self._recorded(public_id), counted)

    def decision_and_risk(self, public_id: str) -> tuple[dict[str, object] | None, dict[str, object] | None]:
        """The policy's decision and the risk engine's score, as the payment's first event recorded them
        (one read of the events for both)."""
        recorded = self._recorded(public_id)
        risk = recorded[0].get("risk") if recorded else None
        return _decision(recorded, False), risk if isinstance(risk, dict) else None


def _decision(recorded: list[dict[str, object]], counted: bool) -> dict[str, object] | None:
    decisions = [data.get("policy") for data in recorded]
    if counted:
        decisions = [d for d in decisions if isinstance(d, dict) and "decided_ms" in d][-1:] or decisions
    found = decisions[0] if decisions else None
    return found if isinstance(found, dict) else None
