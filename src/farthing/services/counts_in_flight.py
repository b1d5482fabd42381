"""A process's policy counts in flight: payments decided here whose batch the engine has not yet
validated.

A decision reads a payer's counters as the engine's validated balances plus what is in flight here.
Each payment's counting legs are added when it is decided and taken away the moment the committer
validates its batch (`GroupCommitter.on_validated`, under the committer's lock), and the two are read
together under that same lock (`GroupCommitter.read_validated`): a payment is counted once, never
twice (a batch validated but not yet answered) and never not at all (decided but not yet submitted).
`settled` takes away what was never validated (a payment refused before its batch, or a failed one).
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Sequence

from farthing.domain.ledger_types import AccountState
from farthing.engine.committer import GroupCommitter
from farthing.engine.engine import Request


class CountsInFlight:
    def __init__(self, ledger: GroupCommitter) -> None:
        self._ledger = ledger
        self._by_account: defaultdict[int, int] = defaultdict(int)
        self._legs: dict[int, tuple[int, int]] = {}
        """Counting leg -> (counter account, amount), for the legs `_by_account` sums."""
        self._lock = threading.Lock()
        ledger.on_validated.append(self._validated)

    def __bool__(self) -> bool:
        return bool(self._legs)

    def add(self, counted: Sequence[tuple[int, int, int]]) -> None:
        """Count (leg, counter account, amount) as in flight."""
        with self._lock:
            for leg_id, account, amount in counted:
                self._by_account[account] += amount
                self._legs[leg_id] = (account, amount)

    def settled(self, counted: Sequence[tuple[int, int, int]]) -> None:
        """The payment's batch answered (applied or not): its legs no longer count (most often they
        stopped counting already, when the batch was validated)."""
        with self._lock:
            for leg_id, _, _ in counted:
                self._land(leg_id)

    def spent(self, accounts: list[int]) -> dict[int, int]:
        """What each existing counter account holds: validated balance plus what is in flight here."""

        def read(states: dict[int, AccountState]) -> dict[int, int]:
            with self._lock:
                return {
                    a: states[a].credits_posted - states[a].debits_posted + self._by_account.get(a, 0)
                    for a in accounts
                    if a in states
                }

        return self._ledger.read_validated(accounts, read)

    def _validated(self, requests: Sequence[Request]) -> None:
        """The engine's memory now holds these requests' effects (the committer's lock is held)."""
        if not self._legs:
            return
        with self._lock:
            for request in requests:
                if request.kind == "transfers":
                    for t in request.events:
                        if t.id in self._legs:
                            self._land(t.id)

    def _land(self, leg_id: int) -> None:
        found = self._legs.pop(leg_id, None)
        if found is None:
            return
        account, amount = found
        left = self._by_account[account] - amount
        if left:
            self._by_account[account] = left
        else:
            del self._by_account[account]
