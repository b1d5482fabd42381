"""The operator's search across parties: the payments that carried a merchant's reference (the order
number a customer quotes), whoever made or received them, in one currency of the operator's mode."""

from __future__ import annotations

from farthing.domain.money import Currency
from farthing.domain.principals import Principal, require
from farthing.domain.statement import Entry
from farthing.services.accounts import Accounts
from farthing.services.history import History
from farthing.services.history_lines import Page
from farthing.services.parties import Parties

KINDS = ("payment", "hold")


def by_reference(
    history: History, accounts: Accounts, parties: Parties, principal: Principal, reference: str, cur: Currency,
    before_seq: int | None, limit: int,
) -> tuple[list[tuple[Entry, str]], Page]:  # fmt: skip
    """(line, merchant) of each payment with `reference`, newest first, and the page they came from (its
    `next_page` goes on). Another currency's or mode's payments with the same reference are passed over,
    so a page may hold fewer than `limit`."""
    require(principal, "operator", "read")
    found = history.with_reference(reference, KINDS, before_seq, limit)
    owners = accounts.owners(*{e.account_id for e in found.entries})
    hits = []
    for e in found.entries:
        merchant = owners.get(e.account_id)
        if merchant is None or parties.mode_of(merchant) != principal.mode:
            continue
        if accounts.repo.find(merchant, cur.code) != e.account_id:
            continue  # another currency's wallet
        hits.append((e, merchant))
    return hits, found
