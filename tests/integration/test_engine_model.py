"""Stateful property test: the engine on SQLite against a small reference model written apart.

Hypothesis drives random sequences of payments, holds, captures, voids, retries, linked pairs,
clock jumps and restarts. After every step the engine's results must equal the model's, the sum of
all balances must be zero, and no flagged account may be overdrawn. The model is deliberately
naive: dictionaries and if-statements in the order the rules are documented.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, field

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from farthing.adapters.store_sqlite import SqliteStore
from farthing.domain.ledger_types import Account, Transfer
from farthing.engine.engine import LedgerEngine, Prepared, Request
from farthing.errors import TransferResult
from farthing.services.audit import verify

R = TransferResult
L = 840
LINKED, PENDING, POST, VOID = 1, 2, 4, 8
FLAGS = {1: 0, 2: 2, 3: 2, 4: 4, 5: 0}  # account id -> flags (2: debits <= credits, 4: credits <= debits)


@dataclass
class Model:
    bal: dict[int, list[int]] = field(default_factory=lambda: {a: [0, 0, 0, 0] for a in FLAGS})
    transfers: dict[int, tuple[int, ...]] = field(default_factory=dict)  # id -> dr, cr, amt, flags, pid, timeout
    pending: dict[int, tuple[int, int, int, int]] = field(default_factory=dict)  # id -> dr, cr, amount, expires_ms
    closed: dict[int, R] = field(default_factory=dict)  # pending id -> result for a second resolution

    def expire(self, now_ms: int) -> None:
        for pid, (dr, cr, amount, exp) in list(self.pending.items()):
            if exp and exp <= now_ms:
                self.bal[dr][0] -= amount
                self.bal[cr][2] -= amount
                del self.pending[pid]
                self.closed[pid] = R.pending_transfer_expired

    def one(self, t: Transfer, now_ms: int) -> R:
        if t.id in self.transfers:
            dr, cr, amt, flags, pid, timeout_s = self.transfers[t.id]
            if (flags & ~LINKED) != (t.flags & ~LINKED):
                return R.exists_with_different_flags
            if pid != t.pending_id:
                return R.exists_with_different_pending_id
            if timeout_s != t.timeout_s:
                return R.exists_with_different_timeout
            loose = t.flags & (POST | VOID)
            if t.debit_account_id != dr and not (loose and t.debit_account_id == 0):
                return R.exists_with_different_debit_account_id
            if t.credit_account_id != cr and not (loose and t.credit_account_id == 0):
                return R.exists_with_different_credit_account_id
            if t.amount != amt and not (loose and t.amount == 0):
                return R.exists_with_different_amount
            return R.exists
        if t.flags & (POST | VOID):
            return self.resolve(t, now_ms)
        if t.debit_account_id == t.credit_account_id:
            return R.accounts_must_be_different
        if t.amount <= 0:
            return R.amount_must_be_positive
        if t.debit_account_id not in self.bal:
            return R.debit_account_not_found
        if t.credit_account_id not in self.bal:
            return R.credit_account_not_found
        d, c = self.bal[t.debit_account_id], self.bal[t.credit_account_id]
        if FLAGS[t.debit_account_id] & 2 and d[0] + d[1] + t.amount > d[3]:
            return R.exceeds_credits
        if FLAGS[t.credit_account_id] & 4 and c[2] + c[3] + t.amount > c[1]:
            return R.exceeds_debits
        if t.flags & PENDING:
            d[0] += t.amount
            c[2] += t.amount
            exp = now_ms + t.timeout_s * 1000 if t.timeout_s else 0
            self.pending[t.id] = (t.debit_account_id, t.credit_account_id, t.amount, exp)
        else:
            d[1] += t.amount
            c[3] += t.amount
        self.transfers[t.id] = (t.debit_account_id, t.credit_account_id, t.amount, t.flags, 0, t.timeout_s)
        return R.ok

    def resolve(self, t: Transfer, now_ms: int) -> R:
        pid = t.pending_id
        if pid not in self.pending:
            if pid in self.closed:
                return self.closed[pid]
            return R.pending_transfer_not_pending if pid in self.transfers else R.pending_transfer_not_found
        dr, cr, amount, _exp = self.pending[pid]
        take = t.amount or amount
        if take > amount:
            return R.exceeds_pending_transfer_amount
        if t.flags & VOID and take != amount:
            return R.pending_transfer_has_different_amount
        self.bal[dr][0] -= amount
        self.bal[cr][2] -= amount
        if t.flags & POST:
            self.bal[dr][1] += take
            self.bal[cr][3] += take
        del self.pending[pid]
        self.closed[pid] = R.pending_transfer_already_posted if t.flags & POST else R.pending_transfer_already_voided
        self.transfers[t.id] = (dr, cr, take, t.flags, pid, 0)
        return R.ok

    def batch(self, transfers: list[Transfer], now_ms: int) -> list[R]:
        """Apply in order; a linked pair (first flagged linked) applies both or neither."""
        self.expire(now_ms)
        out: list[R] = []
        i = 0
        while i < len(transfers):
            t = transfers[i]
            if t.flags & LINKED and i + 1 < len(transfers):
                saved = self._save()
                first = self.one(t, now_ms)
                second = self.one(transfers[i + 1], now_ms) if first in (R.ok, R.exists) else None
                if second is None:
                    self._restore(saved)
                    out += [first, R.linked_event_failed]
                elif second not in (R.ok, R.exists):
                    self._restore(saved)
                    out += [R.linked_event_failed, second]
                else:
                    out += [first, second]
                i += 2
                continue
            out.append(R.linked_event_chain_open if t.flags & LINKED else self.one(t, now_ms))
            i += 1
        return out

    def _save(self) -> tuple[object, ...]:
        return (
            {k: list(v) for k, v in self.bal.items()},
            dict(self.transfers),
            dict(self.pending),
            dict(self.closed),
        )

    def _restore(self, saved: tuple[object, ...]) -> None:
        self.bal, self.transfers, self.pending, self.closed = saved  # type: ignore[assignment]


accounts = st.integers(1, 6)  # 6 does not exist
amounts = st.integers(-2, 4_000)


class EngineVersusModel(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.dir = tempfile.mkdtemp(prefix="farthing-model-")
        self.path = f"{self.dir}/ledger.db"
        self.now_ms = 1_800_000_000_000
        self.engine = self._open()
        self.in_flight: Prepared | None = None
        self.model = Model()
        self.engine.commit([Request("accounts", [Account(i, L, 1, flags=f) for i, f in FLAGS.items()])])
        funding = [Transfer(1_000 + i, 1, i, 5_000, L, 1) for i in (2, 3)] + [Transfer(1_004, 4, 5, 3_000, L, 1)]
        assert self.check(funding) == [R.ok] * 3
        self.next_id = 10_000
        self.last_hold = 1_002

    def _open(self) -> LedgerEngine:
        return LedgerEngine(SqliteStore(self.path, synchronous="OFF"), lambda: self.now_ms)

    def new_id(self) -> int:
        self.next_id += 1
        return self.next_id

    pipelined = False
    """When true, every batch is prepared while the one before it is still in flight (not yet written)."""

    def check(self, transfers: list[Transfer]) -> list[R]:
        expected = self.model.batch(transfers, self.now_ms)
        if self.pipelined:
            prepared = self.engine.prepare([Request("transfers", transfers)])
            self.flush()
            self.in_flight = prepared
            [got] = prepared.results
        else:
            [got] = self.engine.commit([Request("transfers", transfers)])
        assert got == expected, (transfers, got, expected)
        return list(got)  # type: ignore[arg-type]

    @rule(dr=accounts, cr=accounts, amount=amounts)
    def pay(self, dr: int, cr: int, amount: int) -> None:
        self.check([Transfer(self.new_id(), dr, cr, amount, L, 1)])

    @rule(dr=accounts, cr=accounts, amount=amounts, timeout_s=st.sampled_from([0, 1, 5]))
    def hold(self, dr: int, cr: int, amount: int, timeout_s: int) -> None:
        self.last_hold = self.new_id()
        self.check([Transfer(self.last_hold, dr, cr, amount, L, 1, flags=PENDING, timeout_s=timeout_s)])

    @rule(back=st.integers(0, 20), amount=st.integers(0, 4_000), void=st.booleans())
    def resolve(self, back: int, amount: int, void: bool) -> None:
        pid = max(1_001, self.next_id - back)
        self.check([Transfer(self.new_id(), 0, 0, amount, 0, 0, flags=VOID if void else POST, pending_id=pid)])

    @rule(back=st.integers(0, 30), tweak=st.booleans())
    def retry(self, back: int, tweak: bool) -> None:
        tid = max(1_001, self.next_id - back)
        known = self.model.transfers.get(tid)
        if known is None:
            return
        dr, cr, amount, flags, pid, timeout_s = known
        loose = flags & (POST | VOID)
        t = Transfer(tid, 0 if loose else dr, 0 if loose else cr, amount + (1 if tweak else 0), 0 if loose else L,
                     0 if loose else 1, flags=flags & ~LINKED, pending_id=pid, timeout_s=timeout_s)  # fmt: skip
        self.check([t])

    @rule(dr=accounts, cr=accounts, a=amounts, b=amounts, hold_first=st.booleans())
    def linked_pair(self, dr: int, cr: int, a: int, b: int, hold_first: bool) -> None:
        first = Transfer(self.new_id(), dr, cr, a, L, 1, flags=LINKED | (PENDING if hold_first else 0))
        if hold_first:
            self.last_hold = first.id
        self.check([first, Transfer(self.new_id(), cr, dr, b, L, 1)])

    @rule(amount=st.integers(0, 4_000), void=st.booleans())
    def resolve_last_hold(self, amount: int, void: bool) -> None:
        """Post or void the latest hold tried, whether it was applied, refused or rolled back."""
        flags = VOID if void else POST
        self.check([Transfer(self.new_id(), 0, 0, amount, 0, 0, flags=flags, pending_id=self.last_hold)])

    @rule(ms=st.sampled_from([100, 1_000, 5_000]))
    def tick(self, ms: int) -> None:
        self.now_ms += ms

    @precondition(lambda self: self.next_id % 3 == 0)
    @rule()
    def flush(self) -> None:
        if self.in_flight is not None:
            self.engine.flush(self.in_flight)
            self.in_flight = None

    def restart(self) -> None:
        self.flush()
        self.engine.store.close()
        self.engine = self._open()

    @invariant()
    def books_balance(self) -> None:
        accounts = self.engine.state.accounts
        assert {i: list(a.balances()) for i, a in accounts.items()} == self.model.bal
        dp = sum(a.debits_pending for a in accounts.values())
        cp = sum(a.credits_pending for a in accounts.values())
        dpo = sum(a.debits_posted for a in accounts.values())
        cpo = sum(a.credits_posted for a in accounts.values())
        assert (dp, dpo) == (cp, cpo)
        for a in accounts.values():
            if a.flags & 2:
                assert a.debits_pending + a.debits_posted <= a.credits_posted

    def teardown(self) -> None:
        try:
            self.flush()
            report = verify(self.engine.store)
            assert report.ok, report.problems
        finally:
            self.engine.store.close()
            shutil.rmtree(self.dir, ignore_errors=True)


class PipelinedEngineVersusModel(EngineVersusModel):
    """The same walk through `prepare` and `flush`, one batch always in flight: look-ups must see it."""

    pipelined = True


EngineVersusModel.TestCase.settings = settings(max_examples=150, stateful_step_count=50, deadline=None)
PipelinedEngineVersusModel.TestCase.settings = settings(max_examples=100, stateful_step_count=50, deadline=None)
test_engine_matches_the_model = EngineVersusModel.TestCase
test_pipelined_engine_matches_the_model = PipelinedEngineVersusModel.TestCase
