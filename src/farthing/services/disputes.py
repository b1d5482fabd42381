"""Disputes: a payer (or its card processor, through the operator) disputes a payment; the amount is held
from the merchant at once, the merchant answers with evidence, and the dispute is won or lost.

Each step is a ledger movement with its webhook riding on it (`dispute.opened`, `dispute.evidence_submitted`,
`dispute.won`, `dispute.lost`). Opening draws the amount from the payment's refund allowance (so refunds
and disputes together never give back more than was paid: the ledger holds that line, as for refunds)
and holds it, pending, from the merchant's wallet into the disputes clearing account; what the wallet
cannot cover is held from the platform's dispute losses instead (`farthing.domain.disputes.split`).
Won: both holds are voided and the allowance given back. Lost: they are posted and the clearing account
pays the payer. The evidence is marked in the ledger too (a memo transfer whose id is the dispute's), so
it is given once. Transfer ids derive from the dispute's id, so a retry applies nothing twice.
"""

from __future__ import annotations

import dataclasses
import json
import secrets
from collections.abc import Callable
from typing import Protocol

from farthing import limits
from farthing.clock import Clock
from farthing.domain import disputes as rules
from farthing.domain.chart import CODE_DISPUTE_CLEARING, CODE_DISPUTE_LOSSES, T_DISPUTE, T_DISPUTE_LOST
from farthing.domain.disputes import Dispute
from farthing.domain.ledger_types import Account, Transfer, TransferFlags, linked_chain
from farthing.domain.money import Currency, currency
from farthing.domain.principals import Principal, require
from farthing.engine.committer import GroupCommitter
from farthing.engine.ids import derive_id
from farthing.engine.store import OutboxEvent
from farthing.errors import ErrorCode, PlatformError, TransferResult
from farthing.services.accounts import Accounts
from farthing.services.amounts import positive_units
from farthing.services.holds import Holds
from farthing.services.refunds import MEMO_LEDGER_OFFSET, T_ALLOWANCE, T_ALLOWANCE_USED, Refunds

R = TransferResult
CODE_EVIDENCE = 32
T_EVIDENCE = 32
_PENDING, _POST, _VOID = int(TransferFlags.pending), int(TransferFlags.post_pending), int(TransferFlags.void_pending)


class DisputeRepository(Protocol):
    def add(self, d: Dispute) -> None: ...

    def get(self, dispute_id: str) -> Dispute | None: ...

    def of_party(self, column: str, party: str, limit: int) -> list[Dispute]: ...

    def open_of_mode(self, mode: str, limit: int) -> list[Dispute]: ...

    def answer(self, dispute_id: str, evidence: str) -> bool: ...

    def decide(self, dispute_id: str, outcome: str, now_ms: int) -> None: ...

    def unrecorded(self) -> list[tuple[str, str, str, int]]:
        """(merchant, mode, event body, when) of the disputes the ledger holds that have no row."""
        ...


class Disputes:
    def __init__(
        self, repo: DisputeRepository, holds: Holds, refunds: Refunds, accounts: Accounts, ledger: GroupCommitter,
        clock: Clock, lost: Callable[[Principal, str, str], None] | None = None,
    ) -> None:  # fmt: skip
        """`lost` hears of each dispute lost (who decided, the payment, the dispute's reason): the risk
        engine labels a fraudulent one."""
        self.lost = lost
        self.repo = repo
        self.holds = holds
        self.refunds = refunds
        self.accounts = accounts
        self.ledger = ledger
        self.clock = clock

    def open(
        self, principal: Principal, payment_id: str, amount: object | None, reason: str, key: str | None = None
    ) -> Dispute:
        """Dispute `amount` (all that is left when None) of a payment: by the customer that paid it, or by the
        operator for a card processor. With an Idempotency-Key the same dispute is answered again."""
        if principal.kind == "operator":
            require(principal, "operator", "parties:write")
        else:
            require(principal, "customer", "payments:write")
        payment, customer, merchant, cur = self.holds.find(principal, payment_id, reading=True)
        dispute_id = "dp_" + (format(derive_id("dispute-key", principal.key_id, key) % 16**24, "024x") if key
                              else secrets.token_hex(12))  # fmt: skip
        found = self.repo.get(dispute_id)
        if found is not None:
            return found
        paid = self.holds.paid(payment)
        memo_ledger, source, refundable, _, _ = self.refunds.allowance(payment, paid, cur)
        left = self.refunds.left(refundable)
        units = positive_units(cur, amount) if amount is not None else left
        rules.check_opening(units, left, reason)
        mode = self.holds.parties.mode_of(merchant)
        now = self.clock()
        for _ in range(3):  # the merchant's balance may move between the look and the hold: look again
            [state] = self.ledger.balances_now([payment.credit_account_id]).values() or [None]
            available = 0 if state is None else state.credits_posted - state.debits_posted - state.debits_pending
            from_merchant, from_platform = rules.split(units, available)
            made = Dispute(dispute_id, payment_id, customer, merchant, cur.code, mode, units, from_merchant,
                           from_platform, reason, "needs_response", None, now,
                           now + rules.EVIDENCE_DAYS * rules.DAY_MS, None)  # fmt: skip
            memo = Transfer(derive_id("dispute-memo", dispute_id), refundable, source, units, memo_ledger,
                            T_ALLOWANCE_USED)  # fmt: skip
            legs = [memo, *self._holds(made, cur, payment.credit_account_id, _PENDING)]
            results = self.ledger.submit("transfers", linked_chain(legs), [(1, _event(made, "opened"))]).result()
            if results[0] is R.exceeds_credits:
                raise PlatformError(
                    ErrorCode.dispute_exceeds_payment, "this payment was refunded or disputed meanwhile"
                )
            if all(r is R.ok or r is R.exists for r in results):
                self.repo.add(made)
                if self.refunds.heard is not None:
                    self.refunds.heard(merchant, "dispute", now)
                return made
            if results[1] is not R.exceeds_credits:
                raise PlatformError(ErrorCode.engine_failed, f"the dispute could not be booked: {results}")
        raise PlatformError(ErrorCode.insufficient_funds, "the merchant's balance kept moving; ask again")

    def _holds(self, d: Dispute, cur: Currency, wallet: int, flags: int) -> list[Transfer]:
        """The dispute's holds: opened (`flags` pending), or posted or voided when it is decided."""
        clearing = self.accounts.platform_account(CODE_DISPUTE_CLEARING, cur, d.mode)
        losses = self.accounts.platform_account(CODE_DISPUTE_LOSSES, cur, d.mode)
        legs = []
        for name, part, debit in (
            ("dispute-hold", d.from_merchant, wallet),
            ("dispute-cover", d.from_platform, losses),
        ):
            if not part:
                continue
            hold_id = derive_id(name, d.id)
            if flags == _PENDING:
                legs.append(Transfer(hold_id, debit, clearing, part, cur.ledger, T_DISPUTE, flags=_PENDING))
            else:
                step = "won" if flags == _VOID else "lost"
                legs.append(Transfer(derive_id(name, d.id, step), 0, 0, part if flags == _POST else 0, cur.ledger,
                                     T_DISPUTE, flags=flags, pending_id=hold_id))  # fmt: skip
        return legs

    def answer(self, principal: Principal, dispute_id: str, evidence: str) -> Dispute:
        """The merchant's evidence, once, before the dispute's due date."""
        require(principal, "merchant", "refunds:write")
        d = self.get(principal, dispute_id)
        text = rules.check_evidence(d, evidence, self.clock())
        cur = currency(d.currency)
        ledger = cur.ledger + MEMO_LEDGER_OFFSET
        source, marks = derive_id("evidence-source", cur.code), derive_id("evidence-marks", cur.code)
        opened = self.ledger.create_accounts(
            [Account(source, ledger, CODE_EVIDENCE), Account(marks, ledger, CODE_EVIDENCE)]
        )
        if any(r.name not in ("ok", "exists") for r in opened):
            raise PlatformError(ErrorCode.engine_failed, f"could not open the evidence marks: {opened}")
        answered = dataclasses.replace(d, status="under_review", evidence=text)
        mark = Transfer(derive_id("dispute-evidence", d.id), source, marks, 1, ledger, T_EVIDENCE)
        [result] = self.ledger.submit("transfers", [mark], [(0, _event(answered, "evidence_submitted"))]).result()
        if result is not R.ok and not result.name.startswith("exists"):
            raise PlatformError(ErrorCode.engine_failed, f"the evidence could not be marked: {result.name}")
        if not self.repo.answer(d.id, text):  # another answer came first
            raise PlatformError(ErrorCode.dispute_closed, "evidence for this dispute was given already")
        return self.get(principal, dispute_id)

    def decide(self, principal: Principal, dispute_id: str, outcome: str) -> Dispute:
        """The card processor's (or the operator's) decision: won for the merchant, or lost (the payer is
        paid back). Said twice, the second changes nothing."""
        require(principal, "operator", "parties:write")
        d = self.get(principal, dispute_id)
        if not rules.check_outcome(d, outcome):
            return d
        cur = currency(d.currency)
        payment, *_ = self.holds.find(principal, d.payment, reading=True)
        legs = self._holds(d, cur, payment.credit_account_id, _VOID if outcome == "won" else _POST)
        if outcome == "won":  # what may still be refunded comes back
            memo_ledger, source, refundable, _, _ = self.refunds.allowance(payment, self.holds.paid(payment), cur)
            legs.append(Transfer(derive_id("dispute-memo-back", d.id), source, refundable, d.amount, memo_ledger,
                                 T_ALLOWANCE))  # fmt: skip
        else:
            clearing = self.accounts.platform_account(CODE_DISPUTE_CLEARING, cur, d.mode)
            legs.append(Transfer(derive_id("dispute-lost", d.id), clearing, payment.debit_account_id, d.amount,
                                 cur.ledger, T_DISPUTE_LOST, user_data=payment.id))  # fmt: skip
        decided = dataclasses.replace(d, status=outcome, closed_ms=self.clock())
        results = self.ledger.submit("transfers", linked_chain(legs), [(0, _event(decided, outcome))]).result()
        if not all(r is R.ok or r.name.startswith("exists") for r in results):
            raise PlatformError(
                ErrorCode.engine_failed, f"the dispute could not be decided: {[r.name for r in results]}"
            )
        self.repo.decide(d.id, outcome, decided.closed_ms or 0)
        if outcome == "lost" and self.lost is not None:
            self.lost(principal, d.payment, d.reason)
        return self.get(principal, dispute_id)

    def get(self, principal: Principal, dispute_id: str) -> Dispute:
        found = self.repo.get(dispute_id)
        mine = found is not None and (
            principal.party_id in (found.customer, found.merchant)
            or (principal.kind == "operator" and found.mode == principal.mode)
        )
        if found is None or not mine:
            raise PlatformError(ErrorCode.not_found, f"no dispute {dispute_id!r}")
        return found

    def recover(self) -> list[Dispute]:
        """Rows made again for disputes the ledger holds but the disputes table lost (a crash between the
        two): from their `dispute.opened` events, which the ledger wrote with the holds."""
        made = []
        for merchant, mode, body, at in self.repo.unrecorded():
            data = json.loads(body)["data"]
            cur = currency(data["currency"])
            amount, held = cur.parse(data["amount"]), cur.parse(data["held_from_merchant"])
            due = int(data["due_ms"])
            d = Dispute(data["id"], data["payment"], data["customer"], merchant, cur.code, mode, amount, held,
                        amount - held, data["reason"], "needs_response", None, at, due, None)  # fmt: skip
            self.repo.add(d)
            made.append(d)
        return made

    def list(self, principal: Principal) -> list[Dispute]:
        """The caller's disputes, newest first: a merchant's or a customer's; for the operator, those open."""
        if principal.kind == "operator":
            require(principal, "operator", "read")
            return self.repo.open_of_mode(principal.mode, limits.page_size_max)
        assert principal.party_id is not None
        return self.repo.of_party(principal.kind, principal.party_id, limits.page_size_max)


def _event(d: Dispute, happened: str) -> OutboxEvent:
    """`dispute.opened`, `.evidence_submitted`, `.won` or `.lost`, riding with the dispute's ledger movement."""
    cur = currency(d.currency)
    body = {"id": f"evt_{d.id[3:]}_{happened}", "type": f"dispute.{happened}",
            "data": {"id": d.id, "payment": d.payment, "amount": cur.format(d.amount), "currency": d.currency,
                     "held_from_merchant": cur.format(d.from_merchant), "reason": d.reason, "status": d.status,
                     "due_ms": d.due_ms, "customer": d.customer}}  # fmt: skip
    return OutboxEvent(str(body["id"]), f"dispute.{happened}", d.merchant, json.dumps(body, separators=(",", ":")))
