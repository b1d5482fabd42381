"""Payouts: a merchant's balance to its bank account.

The merchant gives its bank account (IBAN checked with `schwifty`, sealed like personal data) and its
terms per currency (`farthing.domain.payouts.Terms`). A payout nets everything its wallet holds (payments
in, refunds and fees out, already in the balance) less the rolling reserve, in whole minor units, and is
moved in the ledger as a pending transfer from the wallet to the payouts clearing account: posted when the
bank confirms, voided (the money back in the wallet) when the bank returns it. The operator sends the
created payouts in one SEPA credit transfer file (`farthing.adapters.sepa`) and marks them paid or
returned as the bank's reports say.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import os
import secrets
from typing import Protocol

from schwifty import BIC, IBAN
from schwifty.exceptions import SchwiftyException

from farthing import limits
from farthing.adapters import bank_reports, bank_returns, sepa
from farthing.clock import Clock
from farthing.domain import payouts as rules
from farthing.domain.chart import CODE_PAYOUT_CLEARING, T_PAYOUT, T_PAYOUT_RETURN
from farthing.domain.ledger_types import Transfer, TransferFlags
from farthing.domain.money import Currency, currency
from farthing.domain.payouts import Payout, Terms
from farthing.domain.principals import Principal, require
from farthing.engine.committer import GroupCommitter
from farthing.engine.ids import derive_id
from farthing.errors import ErrorCode, PlatformError, TransferResult
from farthing.services.accounts import Accounts
from farthing.services.history import History
from farthing.services.payout_rails import PayoutRail, SepaFileRail
from farthing.services.payout_runs import drafted, payout_event, run_due
from farthing.services.personal_data import PersonalData
from farthing.services.security_log import SecurityLog

FEE_ENV, SHARE_ENV = "FARTHING_PAYOUT_BANK_FEE", "FARTHING_PAYOUT_FEE_SHARE_MAX"


def _ppm(percent: str) -> int:
    """ "1.5" (percent) -> 15,000 parts per million."""
    whole, _, frac = percent.strip().partition(".")
    if not whole.isdigit() or not (frac.isdigit() or frac == "") or len(frac) > 4:
        raise ValueError(percent)
    return int(whole) * 10_000 + int(frac.ljust(4, "0") or "0")


class PayoutRepository(Protocol):
    def set_account(self, merchant: str, country: str, last4: str, now_ms: int) -> None: ...

    def account(self, merchant: str) -> tuple[str, str] | None: ...

    def set_terms(self, merchant: str, currency: str, t: Terms) -> None: ...

    def terms(self, merchant: str, currency: str) -> Terms | None: ...

    def scheduled(self, mode: str) -> list[tuple[str, str, Terms]]:
        """The terms that pay out on a schedule, of the merchants of `mode` that gave a bank account."""
        ...

    def last_created(self) -> dict[tuple[str, str], int]:
        """When each merchant's latest payout in each currency (not returned) was made."""
        ...

    def add_many(self, payouts: list[Payout]) -> None: ...

    def add(self, p: Payout) -> None: ...

    def get(self, payout_id: str) -> Payout | None: ...

    def of_merchant(self, merchant: str, limit: int) -> list[Payout]: ...

    def last_ms(self, merchant: str, currency: str) -> int | None: ...

    def unsent(self, currency: str, mode: str) -> list[Payout]: ...

    def mark_sent(self, payout_ids: list[str], file_id: str) -> None: ...

    def settle(self, payout_id: str, status: str, reason: str | None, now_ms: int) -> bool: ...

    def reverse(self, payout_id: str, reason: str | None, now_ms: int) -> bool:
        """Mark a paid payout returned (the bank sent it back); False when it was not paid."""
        ...

    def disputed(self, mode: str) -> dict[tuple[str, str], int]:
        """What open disputes hold from each merchant's balance, by (merchant, currency)."""
        ...

    def unrecorded(self) -> list[tuple[str, str, str, int]]:
        """(merchant, mode, event body, when) of the payouts the ledger made that have no row."""
        ...


def _merchant(principal: Principal) -> str:
    if principal.kind != "merchant" or principal.party_id is None:
        raise PlatformError(ErrorCode.forbidden, "payouts are a merchant's")
    return principal.party_id


class Payouts:
    def __init__(
        self, repo: PayoutRepository, ledger: GroupCommitter, accounts: Accounts, history: History,
        personal: PersonalData, log: SecurityLog, clock: Clock,
    ) -> None:  # fmt: skip
        self.repo = repo
        self.ledger = ledger
        self.accounts = accounts
        self.history = history
        self.personal = personal
        self.log = log
        self.clock = clock

    # -- the merchant's bank account and terms ---------------------------------------------------

    def set_account(self, principal: Principal, holder: str, iban: str, bic: str | None = None) -> dict[str, str]:
        merchant = _merchant(principal)
        require(principal, "merchant", "payouts:write")
        holder = holder.strip()
        if not 0 < len(holder) <= 70 or not holder.isprintable():
            raise PlatformError(ErrorCode.validation_failed, "the account holder is 1 to 70 printable characters")
        try:
            checked = IBAN(iban)
            code = BIC(bic) if bic else checked.bic
        except SchwiftyException as exc:
            raise PlatformError(ErrorCode.validation_failed, f"not a valid IBAN or BIC: {exc}") from None
        if code is None:
            raise PlatformError(ErrorCode.validation_failed, "give the BIC: this IBAN's bank is not known")
        self.personal.seal_profile(f"{merchant}/bank", {"holder": holder, "iban": checked.compact, "bic": str(code)})
        self.repo.set_account(merchant, checked.country_code, checked.compact[-4:], self.clock())
        self.log.record("payouts.account_set", merchant, principal.key_id, country=checked.country_code)
        return self.account(principal)

    def account(self, principal: Principal) -> dict[str, str]:
        merchant = _merchant(principal)
        found, opened = self.repo.account(merchant), self.personal.opened(f"{merchant}/bank")
        if found is None or not opened:
            raise PlatformError(ErrorCode.not_found, "no payout account yet")
        return {"holder": opened["holder"], "iban": f"{found[0]}•••{found[1]}", "bic": opened["bic"]}

    def set_terms(self, principal: Principal, code: str, terms: Terms) -> Terms:
        merchant = _merchant(principal)
        require(principal, "merchant", "payouts:write")
        self.repo.set_terms(merchant, currency(code).code, terms)
        return terms

    def terms(self, merchant: str, code: str) -> Terms:
        return self.repo.terms(merchant, code) or Terms()

    # -- payouts ---------------------------------------------------------------------------------

    def create(self, principal: Principal, code: str, key: str | None = None) -> Payout:
        """Pay out what the merchant's wallet may send now. With an Idempotency-Key `key`, asking again
        answers the same payout (its id, and so its ledger transfer, come from the key)."""
        merchant = _merchant(principal)
        require(principal, "merchant", "payouts:write")
        payout_id = None
        if key is not None:
            payout_id = "po_" + format(derive_id("payout-key", merchant, key) % 16**24, "024x")
            found = self.repo.get(payout_id)
            if found is not None:
                return found
        return self._create(merchant, code, principal.mode, payout_id)

    def _create(self, merchant: str, code: str, mode: str, payout_id: str | None = None) -> Payout:
        if self.repo.account(merchant) is None:
            raise PlatformError(ErrorCode.validation_failed, "give a payout account first (PUT /v1/payout_account)")
        wallet, cur = self.accounts.wallet_of_party(merchant, code)
        terms = self.terms(merchant, cur.code)
        now = self.clock()
        [state] = self.ledger.balances_now([wallet]).values() or [None]
        if state is None:
            raise PlatformError(ErrorCode.insufficient_funds, f"nothing to pay out in {cur.code}")
        dp, dpo, _, cpo = state.balances()
        held = self.repo.disputed(mode).get((merchant, cur.code), 0)
        paid = rules.payable(cur, cpo - dpo - dp, terms, self.received_lately(wallet, terms, now), held,
                             self.floor(cur))  # fmt: skip
        if paid.amount > limits.amount_max:
            raise PlatformError(ErrorCode.validation_failed, "more than one payout may carry: ask again after it")
        made, hold = drafted(self.accounts, merchant, wallet, cur, mode, paid, now, payout_id)
        [result] = self.ledger.submit("transfers", [hold], [(0, payout_event(made, "created"))]).result()
        if result is TransferResult.exceeds_credits:
            raise PlatformError(ErrorCode.insufficient_funds, "the balance moved meanwhile; ask again")
        if result is not TransferResult.ok and result is not TransferResult.exists:
            raise PlatformError(ErrorCode.engine_failed, f"the payout could not be booked: {result.name}")
        self.repo.add(made)
        return made

    def recover(self) -> list[Payout]:
        """Rows made again for payouts the ledger holds but the payouts table lost (a crash between the two):
        from their `payout.created` events, which the ledger wrote with the transfer."""
        made = []
        for merchant, mode, body, at in self.repo.unrecorded():
            data = json.loads(body)["data"]
            cur = currency(data["currency"])
            p = Payout(data["id"], merchant, cur.code, mode, cur.parse(data["amount"]), 0, 0,
                       derive_id("payout", data["id"]), "created", None, None, at, None)  # fmt: skip
            self.repo.add(p)
            made.append(p)
        return made

    def run_due(self, mode: str = "test") -> list[Payout]:
        """The payouts the merchants' schedules ask for now (`farthing.services.payout_runs`)."""
        return run_due(self, mode)

    def floor(self, cur: Currency) -> int:
        """The operator's minimum payout in `cur`: the smallest whose bank fee stays within a share of it
        (FARTHING_PAYOUT_BANK_FEE, e.g. "EUR 0.25", and FARTHING_PAYOUT_FEE_SHARE_MAX, a percent, e.g. "1");
        0 when not set or in another currency."""
        fee = os.environ.get(FEE_ENV, "").split()
        share = os.environ.get(SHARE_ENV, "")
        if len(fee) != 2 or fee[0] != cur.code or not share:
            return 0
        try:
            return rules.fee_floor(cur, cur.parse(fee[1]), _ppm(share))
        except (ValueError, PlatformError):
            told = f"{FEE_ENV} is written 'EUR 0.25' and {SHARE_ENV} as a percent such as 1"
            raise PlatformError(ErrorCode.payouts_unavailable, told) from None

    def received_lately(self, wallet: int, terms: Terms, now: int) -> int:
        """What the wallet received in the reserve's days (0 when the terms keep no reserve)."""
        if not (terms.reserve_ppm and terms.reserve_days):
            return 0
        since = (now // rules.DAY_MS - terms.reserve_days + 1) * rules.DAY_MS
        return sum(a for _, kind, a in self.history.daily(wallet, since) if kind == "received")

    def get(self, principal: Principal, payout_id: str) -> Payout:
        found = self.repo.get(payout_id)
        if found is None or (principal.kind != "operator" and found.merchant != principal.party_id):
            raise PlatformError(ErrorCode.not_found, f"no payout {payout_id!r}")
        return found

    def list(self, principal: Principal) -> list[Payout]:
        return self.repo.of_merchant(_merchant(principal), limits.page_size_max)

    def bank_details(self, merchant: str) -> dict[str, str]:
        """The merchant's bank account, opened (for the bank file only)."""
        opened = self.personal.opened(f"{merchant}/bank")
        if not opened:
            raise PlatformError(ErrorCode.not_found, f"{merchant} has no payout account")
        return opened

    def unsent(self, principal: Principal, code: str) -> list[Payout]:
        require(principal, "operator", "read")
        return self.repo.unsent(currency(code).code, principal.mode)

    def mark_sent(self, payouts: list[Payout], file_id: str) -> None:
        self.repo.mark_sent([p.id for p in payouts], file_id)

    def bank_file(self, principal: Principal, debtor: str | None, execution: datetime.date) -> tuple[str, bytes]:
        """The SEPA credit transfer file (pain.001.001.09, schema-checked) of every euro payout created and
        not sent yet, from the platform's account `debtor` ('Name|IBAN|BIC'); they are marked sent with the
        file's id. Nothing is marked when the file cannot be made."""
        require(principal, "operator", "parties:write")
        if not debtor:
            raise PlatformError(ErrorCode.payouts_unavailable, "set FARTHING_PAYOUT_DEBTOR='Name|IBAN|BIC', the "
                                                               "account payouts leave from")  # fmt: skip
        file_id, xml, _ = self.send(principal, SepaFileRail(sepa.Debtor.parse(debtor)), execution)
        assert xml is not None
        return file_id, xml

    def send(
        self, principal: Principal, rail: PayoutRail, execution: datetime.date
    ) -> tuple[str, bytes | None, list[Payout]]:
        """Every payout created and not sent yet in the rail's currencies, sent by `rail`
        (`farthing.services.payout_rails`) and marked sent with one id; paid at once when the rail pays them
        itself. (The id, the document that carries them if any, the payouts.) Nothing is marked when the
        rail refuses them."""
        require(principal, "operator", "parties:write")
        unsent = [p for code in sorted(rail.currencies) for p in self.repo.unsent(code, principal.mode)]
        if not unsent:
            raise PlatformError(ErrorCode.validation_failed, "no payouts to send")
        accounts = {p.merchant: self.bank_details(p.merchant) for p in unsent}
        document = rail.send(unsent, accounts, execution)
        file_id = "pf_" + secrets.token_hex(8)
        self.mark_sent(unsent, file_id)
        if rail.settles_at_once:
            for p in unsent:
                self.settle(principal, p.id, paid=True)
        return file_id, document, unsent

    def apply_report(self, principal: Principal, xml: bytes) -> dict[str, list[str]]:
        """A bank's pain.002 status report applied: settled payouts paid, refused ones returned with the
        bank's reason. Payouts it names that are not Farthing's, or were settled so already, are listed."""
        require(principal, "operator", "parties:write")
        done: dict[str, list[str]] = {"paid": [], "returned": [], "pending": [], "unknown": [], "already": []}
        for tx in bank_reports.statuses(xml):
            found = self.repo.get(tx.end_to_end)
            if found is None or found.mode != principal.mode:
                done["unknown"].append(tx.end_to_end)
            elif tx.status in bank_reports.PAID | bank_reports.REFUSED:
                paid = tx.status in bank_reports.PAID
                if found.status in ("paid", "returned"):
                    done["already"].append(found.id)
                    continue
                self.settle(principal, found.id, paid, None if paid else f"{tx.status} {tx.reason or ''}".strip())
                done["paid" if paid else "returned"].append(found.id)
            else:
                done["pending"].append(found.id)
        return done

    def apply_returns(self, principal: Principal, xml: bytes) -> dict[str, list[str]]:
        """A bank's camt.054 notification of returned credit transfers applied: a payout not paid yet is
        returned (its hold voided), a paid one is reversed (the money from the payouts clearing account back
        to the merchant's wallet), each with the bank's reason. A return that names no payout of Farthing's,
        or moves another amount than the payout's (tolerance zero), is listed and applies nothing."""
        require(principal, "operator", "parties:write")
        done: dict[str, list[str]] = {"returned": [], "reversed": [], "unknown": [], "mismatched": [], "already": []}
        for r in bank_returns.returns(xml):
            found = self.repo.get(r.end_to_end)
            reason = f"returned {r.reason or ''}".strip()
            if found is None or found.mode != principal.mode:
                done["unknown"].append(r.end_to_end)
            elif found.currency != r.currency or sepa.cents(found) != r.amount_minor:
                done["mismatched"].append(found.id)
            elif found.status == "returned":
                done["already"].append(found.id)
            elif found.status == "paid":
                self._reverse(found, reason)
                done["reversed"].append(found.id)
            else:
                self.settle(principal, found.id, paid=False, reason=reason)
                done["returned"].append(found.id)
        return done

    def _reverse(self, p: Payout, reason: str) -> None:
        cur = currency(p.currency)
        wallet, _ = self.accounts.wallet_of_party(p.merchant, p.currency)
        clearing = self.accounts.platform_account(CODE_PAYOUT_CLEARING, cur, p.mode)
        back = Transfer(derive_id("payout-reversed", p.id), clearing, wallet, p.amount, cur.ledger, T_PAYOUT_RETURN)
        event = payout_event(dataclasses.replace(p, status="returned", reason=reason), "failed")
        [result] = self.ledger.submit("transfers", [back], [(0, event)]).result()
        if result is not TransferResult.ok and not result.name.startswith("exists"):
            raise PlatformError(ErrorCode.engine_failed, f"the returned payout could not be booked: {result.name}")
        self.repo.reverse(p.id, reason, self.clock())

    def settle(self, principal: Principal, payout_id: str, paid: bool, reason: str | None = None) -> Payout:
        """The bank's word on a payout: paid (the pending transfer posted) or returned (voided: the money
        back in the merchant's wallet). Said twice, the second changes nothing."""
        require(principal, "operator", "parties:write")
        p = self.get(principal, payout_id)
        if p.status in ("paid", "returned"):
            if (p.status == "paid") != paid:
                raise PlatformError(ErrorCode.payout_settled, f"this payout was {p.status} already")
            return p
        cur = currency(p.currency)
        flag = TransferFlags.post_pending if paid else TransferFlags.void_pending
        step = Transfer(derive_id("payout-settled", p.id), 0, 0, p.amount if paid else 0, cur.ledger, T_PAYOUT,
                        flags=int(flag), pending_id=p.transfer_id)  # fmt: skip
        event = payout_event(dataclasses.replace(p, status="paid" if paid else "returned", reason=reason),
                       "paid" if paid else "failed")  # fmt: skip
        [result] = self.ledger.submit("transfers", [step], [(0, event)]).result()
        if result is not TransferResult.ok and not result.name.startswith("exists"):
            raise PlatformError(ErrorCode.engine_failed, f"the payout could not be settled: {result.name}")
        self.repo.settle(p.id, "paid" if paid else "returned", reason, self.clock())
        return self.get(principal, payout_id)
