"""The operator's side of risk: the review queue (payments the engine stepped up or refused, with its
reasons) and labels (fraud or not) that teach the model and make the platform's fraud rate.

A payment is labelled once: a second label is refused (409 `already_labelled`), never changes the first.
A label names a payment that was made (found in the ledger) or one the engine refused (found in the review
queue); any other is unknown (404). A dispute lost as fraudulent labels its payment fraud by itself.
"""

from __future__ import annotations

from farthing.clock import Clock
from farthing.domain.principals import Principal, require
from farthing.domain.risk.records import Label, Review
from farthing.errors import ErrorCode, PlatformError
from farthing.services.accounts import payment_transfer_id
from farthing.services.holds import Holds
from farthing.services.risk import Risk, RiskRepository
from farthing.services.security_log import SecurityLog

NOTE_MAX = 500
REVIEWS_MAX = 200


class RiskLabels:
    def __init__(self, risk: Risk, holds: Holds, log: SecurityLog, clock: Clock) -> None:
        assert risk.repo is not None, "risk labels need the platform's tables"
        self.risk = risk
        self.repo: RiskRepository = risk.repo
        self.holds = holds
        self.log = log
        self.clock = clock

    def reviews(self, principal: Principal, limit: int = 50) -> list[tuple[Review, Label | None]]:
        """The newest payments the engine stepped up or refused, each with its label once it has one."""
        require(principal, "operator", "read")
        if not 1 <= limit <= REVIEWS_MAX:
            raise PlatformError(ErrorCode.validation_failed, f"limit is 1 to {REVIEWS_MAX}")
        return self.repo.reviews(principal.mode, limit)

    def label(self, principal: Principal, payment: str, fraud: object, note: str = "") -> Label:
        """Label a payment fraud (True) or not (False), once; the model learns from its features."""
        require(principal, "operator", "parties:write")
        if type(fraud) is not bool:
            raise PlatformError(ErrorCode.validation_failed, f"fraud is true or false, not {fraud!r}")
        if len(note) > NOTE_MAX:
            raise PlatformError(ErrorCode.validation_failed, f"a note holds at most {NOTE_MAX} characters")
        return self._label(principal, payment, fraud, note, "operator", principal.key_id)

    def from_dispute(self, principal: Principal, payment: str, reason: str) -> None:
        """A dispute lost: one opened as fraudulent labels its payment fraud (unless labelled already)."""
        if reason != "fraudulent" or self.repo.label(payment) is not None:
            return
        self._label(principal, payment, True, "dispute lost as fraudulent", "dispute", principal.key_id)

    def _label(self, principal: Principal, payment: str, fraud: bool, note: str, source: str, by: str) -> Label:
        made, feats = self._found(principal, payment)
        label = Label(payment, made.currency, made.mode, made.amount, made.paid, fraud, source, note, made.paid_ms,
                      self.clock(), by)  # fmt: skip
        if not self.repo.add_label(label):
            raise PlatformError(ErrorCode.already_labelled, f"payment {payment!r} is labelled already")
        transfer_id = payment_transfer_id(payment)
        self.risk.label(transfer_id, fraud, feats or self.risk.features_of(transfer_id))
        self.risk.forget_rates()
        self.log.record("risk.labelled", None, by, payment=payment, fraud=fraud, source=source)
        return label

    def _found(self, principal: Principal, payment: str) -> tuple[Label, dict[str, float] | None]:
        """What the label records of the payment (as a draft label), and the features its review kept."""
        payment_transfer_id(payment)  # not a payment's id: not found
        review = self.repo.review(payment)
        if review is not None and review.mode != principal.mode:
            review = None
        try:
            t, customer, _, cur = self.holds.find(principal, payment, reading=True)
        except PlatformError:
            if review is None:
                raise PlatformError(ErrorCode.not_found, f"no payment {payment!r}") from None
            made = Label(payment, review.currency, review.mode, review.amount, False, False, "", "",
                         review.created_ms, 0, "")  # fmt: skip
            return made, review.features
        paid_ms = self.holds.committed_at(t.id)
        mode = self.holds.parties.mode_of(customer)
        made = Label(payment, cur.code, mode, self.holds.paid(t), True, False, "", "", paid_ms, 0, "")
        return made, review.features if review is not None else None
