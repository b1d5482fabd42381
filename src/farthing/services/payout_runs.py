"""A payout run (`farthing payouts run`, from cron): every payout the merchants' schedules ask for now,
decided together and booked in ledger batches of thousands, so a hundred thousand merchants are paid out
in seconds rather than one round trip each. A merchant with nothing payable (under a cent, under its
minimum, all in reserve) is passed over; the next run tries again."""

from __future__ import annotations

import json
import secrets
from typing import Any, Protocol

from farthing import limits
from farthing.clock import Clock
from farthing.domain import payouts as rules
from farthing.domain.chart import CODE_PAYOUT_CLEARING, T_PAYOUT
from farthing.domain.ledger_types import Transfer, TransferFlags
from farthing.domain.money import Currency, currency
from farthing.domain.payouts import Payable, Payout, Terms
from farthing.engine.committer import GroupCommitter
from farthing.engine.ids import derive_id
from farthing.engine.store import OutboxEvent
from farthing.errors import PlatformError, TransferResult
from farthing.services.accounts import Accounts

CHUNK = limits.events_per_batch_max // 2


class _Payouts(Protocol):
    """What a run needs of `farthing.services.payouts.Payouts`."""

    clock: Clock
    repo: Any
    accounts: Accounts
    ledger: GroupCommitter

    def received_lately(self, wallet: int, terms: Terms, now: int) -> int: ...

    def floor(self, cur: Currency) -> int: ...


def run_due(p: _Payouts, mode: str) -> list[Payout]:
    now = p.clock()
    last = p.repo.last_created()
    wallets: dict[tuple[str, str], int] = {}
    due = []
    for merchant, code, terms in p.repo.scheduled(mode):
        try:
            wallets[(merchant, code)], _ = p.accounts.wallet_of_party(merchant, code)
        except PlatformError:
            continue  # nothing ever received in that currency
        due.append((merchant, code, terms))
    states = p.ledger.balances_now(list(wallets.values()))
    disputed = p.repo.disputed(mode)
    drafts: list[tuple[Payout, Transfer, OutboxEvent]] = []
    for merchant, code, terms in due:
        wallet = wallets[(merchant, code)]
        if wallet not in states:
            continue
        dp, dpo, _, cpo = states[wallet].balances()
        if not rules.due(terms, last.get((merchant, code)), now, cpo - dpo - dp):
            continue
        cur = p.accounts.wallet_of_party(merchant, code)[1]
        lately = p.received_lately(wallet, terms, now)
        try:
            paid = rules.payable(cur, cpo - dpo - dp, terms, lately, disputed.get((merchant, code), 0), p.floor(cur))
        except PlatformError:
            continue
        made, hold = drafted(p.accounts, merchant, wallet, cur, mode, paid, now)
        drafts.append((made, hold, payout_event(made, "created")))
    booked: list[Payout] = []
    for start in range(0, len(drafts), CHUNK):
        chunk = drafts[start : start + CHUNK]
        results = p.ledger.submit("transfers", [t for _, t, _ in chunk], [(i, e) for i, (_, _, e) in enumerate(chunk)])
        ok = [made for (made, _, _), r in zip(chunk, results.result(), strict=True) if r is TransferResult.ok]
        p.repo.add_many(ok)
        booked += ok
    return booked


def drafted(
    accounts: Accounts, merchant: str, wallet: int, cur: Currency, mode: str, paid: Payable, now: int,
    payout_id: str | None = None,
) -> tuple[Payout, Transfer]:  # fmt: skip
    """A payout as it will be kept, and its hold: pending, from the wallet to the payouts clearing account."""
    payout_id = payout_id or "po_" + secrets.token_hex(12)
    made = Payout(payout_id, merchant, cur.code, mode, paid.amount, paid.reserve, paid.remainder,
                  derive_id("payout", payout_id), "created", None, None, now, None)  # fmt: skip
    clearing = accounts.platform_account(CODE_PAYOUT_CLEARING, cur, mode)
    hold = Transfer(made.transfer_id, wallet, clearing, paid.amount, cur.ledger, T_PAYOUT,
                    flags=int(TransferFlags.pending))  # fmt: skip
    return made, hold


def payout_event(p: Payout, happened: str) -> OutboxEvent:
    """`payout.created`, `payout.paid` or `payout.failed`, riding with the payout's transfer."""
    cur = currency(p.currency)
    body = {"id": f"evt_{p.id[3:]}_{happened}", "type": f"payout.{happened}",
            "data": {"id": p.id, "amount": cur.format(p.amount), "currency": p.currency, "status": p.status,
                     "reason": p.reason}}  # fmt: skip
    return OutboxEvent(str(body["id"]), f"payout.{happened}", p.merchant, json.dumps(body, separators=(",", ":")))
