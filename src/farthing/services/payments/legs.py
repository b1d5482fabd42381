"""One payment's ledger legs: payer → merchant, the platform's fee linked to it, the policy's tax and
headroom legs, all linked so that all or none apply; or a hold (a pending transfer) to capture later,
or to release once the payer's strong authentication answers.

Idempotency lives with the write: with an `Idempotency-Key`, a payment's transfer id is derived from
its owner and key, so the ledger recognises a retry (`exists`) and one with other fields
(`exists_with_different_*`); nothing is ever applied twice.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import NamedTuple

from farthing import limits
from farthing.clock import Clock
from farthing.domain.ledger_types import Transfer, TransferFlags, linked_chain
from farthing.domain.money import Currency, share
from farthing.domain.policy.decision import ALLOW, DENY
from farthing.domain.policy.evaluate import Decision
from farthing.domain.policy.model import Policy
from farthing.domain.principals import Principal
from farthing.domain.risk.features import Seen
from farthing.domain.risk.records import Review
from farthing.domain.risk.rules import Assessment
from farthing.engine.ids import derive_id, new_id
from farthing.engine.store import OutboxEvent
from farthing.errors import ErrorCode, PlatformError, TransferResult
from farthing.services.accounts import CODE_FEE_REVENUE, T_ADDED_TAX, T_PAYMENT, T_PLATFORM_FEE, Accounts, public_id_of
from farthing.services.parties import Parties
from farthing.services.payment_policy import NO_RISK, Gate, PaymentPolicy, PolicyRefused, RiskSeen
from farthing.services.payments.events import decision_summary, payment_event
from farthing.services.payments.model import Payment, PaymentItem, SeenFrom, StepUpHook, with_billing
from farthing.services.risk import Judged, Risk, risk_out

R = TransferResult
_LINKED, _PENDING = int(TransferFlags.linked), int(TransferFlags.pending)
Prepared = tuple[list[Transfer], Payment, OutboxEvent, Gate | None]
"""A payment ready for the ledger: its legs, itself, its event, and the policy's gate it holds open."""


class Draft(NamedTuple):
    """A payment before the policy decides: who pays, what, from and to which accounts, under which ids,
    and the risk engine's verdict on it."""

    payer_id: str
    item: PaymentItem
    payer: int
    payee: int
    payment_id: int
    fee_id: int
    mode: str = "test"
    risk: Judged | None = None
    policy: Policy | None = None
    """The policy of the payment's currency and merchant (None: none applies), looked up once."""


def payment_ids(party_id: str, idempotency_key: str | None) -> tuple[int, int]:
    """A payment's transfer id and its fee's."""
    if idempotency_key is None:  # no key, no retry to recognise: time-ordered ids append to the index
        return new_id(), new_id()
    # The same owner and key give the same ids in every process: the ledger spots the retry.
    payment_id = derive_id("payment", party_id, idempotency_key)
    return payment_id, derive_id("fee", str(payment_id))


def added_tax_leg(payment_id: int, payer: int, payee: int, amount: int, cur: Currency) -> Transfer:
    """The tax added to a payment's price, paid by the payer to the merchant beside the price (its id
    derives from the payment's, so that refunds find it)."""
    return Transfer(derive_id("added-tax", str(payment_id)), payer, payee, amount, cur.ledger, T_ADDED_TAX)


class PaymentLegs:
    def __init__(
        self, accounts: Accounts, parties: Parties, policy: PaymentPolicy, clock: Clock, step_ups: StepUpHook | None,
        risk: Risk | None = None,
    ) -> None:  # fmt: skip
        self.accounts = accounts
        self.parties = parties
        self.policy = policy
        self.clock = clock
        self.step_ups = step_ups
        self.risk = risk

    def build(
        self, principal: Principal, item: PaymentItem, idempotency_key: str | None, awaiting: Decision | None = None,
        waits: bool = False, stage: str | None = None,
    ) -> Prepared:  # fmt: skip
        """The ledger legs of one payment, and the payment they make if the ledger applies them; the
        currency's policy decides first (`PolicyRefused` when it does not allow the payment). With
        `awaiting` (the policy's step-up decision) or `waits`, a hold that waits for the payer's strong
        authentication; `stage` overrides how the policy counts it (`capture`: a merchant-initiated
        payment under a mandate the payer set up, out of SCA's scope)."""
        return self.complete(self.draft(principal, item, idempotency_key), awaiting, waits, stage)

    def draft(self, principal: Principal, item: PaymentItem, idempotency_key: str | None) -> Draft:
        """What a payment's legs need before the policy decides: its parties checked, its accounts, its ids."""
        payer_id = principal.party_id
        assert payer_id is not None
        cur = item.amount.currency
        self.parties.check(item.merchant, "merchant", principal.mode)
        if not item.capture and not 0 < item.hold_s <= limits.hold_s_max:
            raise PlatformError(ErrorCode.validation_failed, f"a hold lasts 1 to {limits.hold_s_max} seconds")
        payer = self.accounts.wallet_account(payer_id, "customer", cur)
        payee = self.accounts.wallet_account(item.merchant, "merchant", cur)
        ids = payment_ids(payer_id, idempotency_key)
        policy = self.policy.for_payment(cur.code, item.merchant)
        return Draft(payer_id, item, payer, payee, *ids, principal.mode, self._judge(payer_id, item, policy), policy)

    def _judge(self, payer_id: str, item: PaymentItem, policy: Policy | None) -> Judged | None:
        """The risk engine's verdict on the payment (counted into the profiles once it is decided)."""
        if self.risk is None or not self.risk.enabled:
            return None
        country = item.evidence.ip if item.evidence is not None and item.evidence.ip else None
        seen_from = item.seen_from or _NOWHERE
        seen = Seen(item.amount.units, self.clock(), item.merchant, seen_from.device, seen_from.network,
                    country or self.parties.profile(payer_id).country, item.allowance_use)  # fmt: skip
        step_ups = self.step_ups
        return self.risk.assess(policy.risk if policy is not None else None, payer_id, seen,
                                lambda: step_ups is not None and step_ups.ready(payer_id))  # fmt: skip

    def complete(
        self, draft: Draft, awaiting: Decision | None = None, waits: bool = False, stage: str | None = None
    ) -> Prepared:
        """The draft's legs once the policy decided (see `build`); a draft the policy refused may be
        completed again with the refusal's decision as `awaiting`, without being drafted twice."""
        first = awaiting is None and not waits
        waits = waits or awaiting is not None
        item = draft.item
        cur, units = item.amount.currency, item.amount.units
        try:
            if first and draft.risk is not None:
                self._refuse_if_risky(draft, draft.risk.assessment)
            gate, awaiting = self._decide(draft, cur, units, waits, awaiting, stage)
        except PolicyRefused:
            self._observe(draft, first)
            raise
        try:
            made = self._legs(draft, gate, awaiting, waits)
        except BaseException:  # (a `WouldBlock` too): the payment is not made here, so it counts for nothing
            if gate is not None:
                self.policy.settled(gate)
            raise
        self._observe(draft, first)
        return made

    def _observe(self, draft: Draft, first: bool) -> None:
        """Count the payment into the risk profiles, once: when first decided (a step-up's second
        completion is the same payment)."""
        if first and draft.risk is not None and self.risk is not None:
            self.risk.observe(draft.payer_id, draft.risk, draft.payment_id)

    def _refuse_if_risky(self, draft: Draft, a: Assessment) -> None:
        """Raise `PolicyRefused` for a payment the risk engine refuses or steps up (a step-up keeps the
        policy's own decision, taken as for a payment that waits: its place of supply and any refusal)."""
        if a.outcome == ALLOW:
            return
        said = "; ".join(r.text for r in a.reasons) or f"risk score {a.score}"
        detail = f"the risk analysis scored this payment {a.score} of 100: {said}"
        self._review(draft)
        if a.outcome == DENY:
            raise PolicyRefused(ErrorCode.policy_denied, None, detail)
        item, policy = draft.item, draft.policy
        decision = None
        if policy is not None:
            profile = self.parties.profile(draft.payer_id)
            decision = self.policy.decide(policy, draft.payer_id, profile, with_billing(item.evidence, profile.country),
                                          item.amount.currency, item.amount.units, self.clock(), "capture",
                                          item.channel)  # fmt: skip
            if decision.outcome == DENY:
                raise PolicyRefused(ErrorCode.policy_denied, decision)
        raise PolicyRefused(ErrorCode.authentication_required, decision, detail)

    def _legs(self, draft: Draft, gate: Gate | None, awaiting: Decision | None, waits: bool) -> Prepared:
        item, payer_id, payment_id = draft.item, draft.payer_id, draft.payment_id
        cur, units = item.amount.currency, item.amount.units
        fee = 0 if not item.capture else gate.fee if gate is not None else share(units, self.policy.fee_ppm, 1_000_000)
        user_data = derive_id("reference", item.reference) if item.reference else 0
        if waits and self.step_ups is not None:  # held until the payer's second factor answers
            legs = [Transfer(payment_id, draft.payer, draft.payee, units, cur.ledger, T_PAYMENT, flags=_PENDING,
                             user_data=user_data, timeout_s=self.step_ups.challenge_s)]  # fmt: skip
            fee, status = 0, "requires_authentication"
        elif not item.capture:
            legs = [Transfer(payment_id, draft.payer, draft.payee, units, cur.ledger, T_PAYMENT, flags=_PENDING,
                             user_data=user_data, timeout_s=item.hold_s)]  # fmt: skip
            status = "requires_capture"
        else:
            revenue = self.accounts.platform_account(CODE_FEE_REVENUE, cur, self.parties.mode_of(item.merchant))
            legs = _captured(payment_id, draft.fee_id, draft.payer, draft.payee, revenue, units, fee, cur, user_data,
                             gate)  # fmt: skip
            status = "succeeded"
        if gate is not None:
            legs += gate.legs
        legs = linked_chain(legs)
        decided = gate.decision if gate is not None else awaiting
        summary = decision_summary(decided, cur, item.withdrawal_waived) if decided is not None else None
        risk = risk_out(draft.risk.assessment) if draft.risk is not None else None
        payment = Payment(public_id_of("pay_", payment_id), payer_id, item.merchant, units, fee, cur.code,
                          item.reference, False, status, gate.guards if gate is not None else 0, summary,
                          risk=risk)  # fmt: skip
        return legs, payment, payment_event(payment, f"payment.{status}"), gate

    def _decide(
        self, draft: Draft, cur: Currency, units: int, waits: bool, awaiting: Decision | None, stage: str | None
    ) -> tuple[Gate | None, Decision | None]:
        """The policy's gate on a payment that goes ahead now, or its decision on one that waits."""
        payer, item, payment_id, policy = draft.payer_id, draft.item, draft.payment_id, draft.policy
        if policy is None:
            return None, awaiting
        profile = self.parties.profile(payer)
        evidence = with_billing(item.evidence, profile.country)
        if waits:
            if awaiting is None:  # decided now (its place of supply recorded)
                awaiting = self.policy.decide(policy, payer, profile, evidence, cur, units, self.clock(), "capture",
                                              item.channel)  # fmt: skip
                if awaiting.outcome == "deny":
                    raise PolicyRefused(ErrorCode.policy_denied, awaiting)
            return None, awaiting
        stage = stage or ("payment" if item.capture else "hold")
        gate = self.policy.gate(policy, payer, item.merchant, profile, evidence, cur, units, self.clock(), payment_id,
                                stage, item.channel, self._risk_seen(draft, cur))  # fmt: skip
        return gate, awaiting

    def _review(self, draft: Draft) -> None:
        """The payment stepped up or refused by the risk engine, kept for the operator's review queue."""
        judged, item = draft.risk, draft.item
        if judged is None or self.risk is None:
            return
        a, payment = judged.assessment, public_id_of("pay_", draft.payment_id)
        reasons = tuple((r.rule_id, r.text) for r in a.reasons)
        self.risk.refused(Review(payment, draft.payer_id, item.merchant, item.currency, draft.mode, item.amount.units,
                                 a.score, a.outcome, reasons, judged.features, self.clock()))  # fmt: skip

    def _risk_seen(self, draft: Draft, cur: Currency) -> RiskSeen:
        """What the policy hears of the risk analysis: abnormal or not, and the platform's fraud rate (which
        only an exemption by transaction-risk analysis reads: a pack without one hears nothing)."""
        if draft.risk is None or self.risk is None or draft.policy is None or draft.policy.tra is None:
            return NO_RISK
        return RiskSeen(draft.risk.assessment.high, self.risk.fraud_rate_ppm(cur.code, draft.mode))


_NOWHERE = SeenFrom()


def _captured(
    payment_id: int, fee_id: int, payer: int, payee: int, revenue: int, units: int, fee: int, cur: Currency,
    user_data: int, gate: Gate | None,
) -> list[Transfer]:  # fmt: skip
    """A payment that is paid now: the price, the tax added to it, and the platform's fee."""
    # Linked from the start when legs follow (linked_chain then keeps it as it is: no copy).
    follows = bool(fee) or (gate is not None and bool(gate.added_tax or gate.legs))
    legs = [Transfer(payment_id, payer, payee, units, cur.ledger, T_PAYMENT, flags=_LINKED if follows else 0,
                     user_data=user_data)]  # fmt: skip
    if gate is not None and gate.added_tax:  # the merchant collects it, and remits it with its return
        legs.append(added_tax_leg(payment_id, payer, payee, gate.added_tax, cur))
    if fee:
        legs.append(Transfer(fee_id, payee, revenue, fee, cur.ledger, T_PLATFORM_FEE))
    return legs


def settled(payment: Payment, results: Sequence[TransferResult]) -> Payment:
    """The payment as the ledger's results make it: applied, replayed (every leg existed), or refused."""
    if results and results.count(R.ok) == len(results):  # the usual answer, checked at C speed
        return payment
    if all(r is R.exists for r in results):
        return dataclasses.replace(payment, replayed=True)
    guarded = results[len(results) - payment.guard_legs :] if payment.guard_legs else []
    if any(r is R.exceeds_credits for r in guarded):
        raise PlatformError(
            ErrorCode.policy_denied,
            "a limit of the policy was reached by payments made meanwhile (the ledger holds it)",
        )
    first = next(r for r in results if r not in (R.ok, R.exists, R.linked_event_failed))
    if first is R.exceeds_credits:
        raise PlatformError(ErrorCode.insufficient_funds, "the wallet does not hold enough for this payment")
    if first.name.startswith("exists_with_different"):
        raise PlatformError(
            ErrorCode.idempotency_key_reused, "this Idempotency-Key was used for a payment with other parameters"
        )
    raise PlatformError(ErrorCode.payment_refused, f"the ledger refused the payment: {first.name}")
