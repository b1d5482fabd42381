"""Channels near their deadline: no revenue lost to a forgotten redeem.

A payment channel's deposit is held until a deadline: the end of its window and dispute time while it is
open (`expires_ms + dispute_ms`, when the ledger's hold runs out), or `settle_after_ms` once the payer asked
to close it. What the merchant has not redeemed by then goes back to the payer. So a merchant is told, once
per channel, when a deadline comes within `warn_ms` (a day by default): a `channel.expiring` webhook (it
rides a memo transfer whose id is the channel's, so it is sent once whichever process looks first), and
its dashboard lists those channels. `farthing serve` looks every few minutes."""

from __future__ import annotations

from typing import Protocol

from farthing import limits
from farthing.clock import Clock
from farthing.domain.channels.channel import Channel
from farthing.domain.ledger_types import Account, Transfer
from farthing.domain.money import Currency, currency
from farthing.domain.principals import Principal
from farthing.engine.committer import GroupCommitter
from farthing.engine.ids import derive_id
from farthing.engine.store import OutboxEvent
from farthing.errors import ErrorCode, PlatformError, TransferResult
from farthing.services.channel_model import channel_event
from farthing.services.refunds import MEMO_LEDGER_OFFSET

WARN_MS = 86_400_000
CODE_EXPIRY_MARK = T_EXPIRY_MARK = 33


class DeadlineRepository(Protocol):
    def due_before(self, deadline_ms: int, merchant: str | None, limit: int) -> list[Channel]:
        """Open or closing channels whose deadline is at or before `deadline_ms`, soonest first."""
        ...


class ChannelDeadlines:
    def __init__(self, repo: DeadlineRepository, ledger: GroupCommitter, clock: Clock, warn_ms: int = WARN_MS) -> None:
        self.repo = repo
        self.ledger = ledger
        self.clock = clock
        self.warn_ms = warn_ms

    def near(self, principal: Principal) -> list[Channel]:
        """The merchant's channels whose deadline comes within `warn_ms`, soonest first."""
        if principal.kind != "merchant" or principal.party_id is None:
            raise PlatformError(ErrorCode.forbidden, "a merchant's channels")
        now = self.clock()
        return [c for c in self.repo.due_before(now + self.warn_ms, principal.party_id, limits.page_size_max)
                if c.deadline_ms > now]  # fmt: skip

    def warn(self) -> int:
        """Send `channel.expiring` for every channel whose deadline comes within `warn_ms` and was not warned
        of yet; how many were sent now. The marks go in one request (each its own transfer: a channel warned
        of already answers `exists` and sends nothing)."""
        now = self.clock()
        marks: list[Transfer] = []
        events: list[tuple[int, OutboxEvent]] = []
        opened: set[str] = set()
        for ch in self.repo.due_before(now + self.warn_ms, None, 10_000):
            if ch.deadline_ms <= now:
                continue  # passed: nothing left to save
            cur = currency(ch.currency)
            source, marked = self._marks(cur, opened)
            marks.append(Transfer(derive_id("channel-expiring", ch.id), source, marked, 1,
                                  cur.ledger + MEMO_LEDGER_OFFSET, T_EXPIRY_MARK))  # fmt: skip
            events.append((len(marks) - 1, channel_event(ch, "channel.expiring", cur, deadline_ms=ch.deadline_ms)))
        sent, step = 0, limits.events_per_batch_max
        for start in range(0, len(marks), step):  # a request fits in one batch
            chunk = [(i - start, e) for i, e in events[start : start + step]]
            results = self.ledger.submit("transfers", marks[start : start + step], chunk).result()
            sent += sum(r is TransferResult.ok for r in results)
        return sent

    def _marks(self, cur: Currency, opened: set[str]) -> tuple[int, int]:
        """The currency's memo accounts the marks move between, opened once per look."""
        ledger = cur.ledger + MEMO_LEDGER_OFFSET
        source, marks = derive_id("expiry-source", cur.code), derive_id("expiry-marks", cur.code)
        if cur.code not in opened:
            made = self.ledger.create_accounts([Account(a, ledger, CODE_EXPIRY_MARK) for a in (source, marks)])
            if any(r.name not in ("ok", "exists") for r in made):
                raise PlatformError(ErrorCode.engine_failed, f"could not open the expiry marks: {made}")
            opened.add(cur.code)
        return source, marks
