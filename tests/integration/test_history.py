"""The history projection against the ledger it is built from, on both stores.

Random payments, holds (captured, voided, expiring), refunds and top-ups; the projection caught up at
random moments in chunks small enough to split runs of batches. Then every account's last line must
hold the ledger's balances, each line must follow from the one before, and a rebuild from nothing in
one pass must write the same rows.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable

import pytest

from farthing.adapters.history_sql import StatementTable
from farthing.adapters.platform_db import PlatformDb
from farthing.adapters.rows import int16
from farthing.bootstrap import Platform, open_platform
from farthing.domain.chart import T_PAYMENT, T_PLATFORM_FEE, T_REFUND
from farthing.domain.principals import MERCHANT_SCOPES, Principal
from farthing.errors import PlatformError
from farthing.services import history as history_module
from farthing.services.amounts import positive_money
from farthing.services.history import History
from farthing.services.payments.model import PaymentItem

_ROWS = (
    "SELECT account_id, seq, timestamp_ms, transfer_id, code, flags, expired, side, amount, released, "
    "debits_pending, debits_posted, credits_pending, credits_posted, payment_id, reference_hash "
    "FROM entries ORDER BY account_id, seq"
)


def _rows(db: PlatformDb) -> list[tuple[object, ...]]:
    f = db.from_u128
    out = []
    for r in db.query(_ROWS):
        out.append((bytes(r[0]), r[1], r[2], bytes(r[3]), r[4], r[5], int(r[6]), r[7], *(f(v) for v in r[8:14]),
                    r[14] and bytes(r[14]), r[15] and bytes(r[15])))  # fmt: skip
    return out


def _daily_from_lines(rows: list[tuple[object, ...]]) -> dict[int, list[tuple[int, str, int]]]:
    """Each account's received, fees and refunds by UTC day, from its lines: posted (no hold placed or
    released, nothing expired), a payment on the side it credits, a fee or refund on the side it debits."""
    names = {T_PAYMENT: ("received", 1), T_PLATFORM_FEE: ("fees", 0), T_REFUND: ("refunds", 0)}
    totals: dict[int, dict[tuple[int, str], int]] = {}
    for r in rows:
        account, ts, code, flags, expired, side, amount = r[0], r[2], r[4], r[5], r[6], r[7], r[8]
        if code not in names or names[code][1] != side or flags & 10 or expired:  # type: ignore[operator]
            continue
        per_day = totals.setdefault(int16(account), {})  # type: ignore[arg-type]
        key = (ts // 86_400_000, names[code][0])  # type: ignore[index, operator]
        per_day[key] = per_day.get(key, 0) + amount  # type: ignore[operator]
    return {a: [(d, n, v) for (d, n), v in sorted(t.items())] for a, t in totals.items()}


def test_projection_matches_the_ledger(store_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(history_module, "CHUNK_EVENTS", 7)
    rng = random.Random(7)
    platform = open_platform(store_url)
    holds = platform.holds
    store = platform.ledger.engine.store
    history = History(store, StatementTable(PlatformDb(store)))
    try:
        operator = Principal("op", "operator", None, "test", frozenset({"parties:write"}))
        merchants = []
        for i in range(2):
            mid, key_id, _ = platform.parties.create(operator, "merchant", f"m{i}")
            merchants.append((mid, Principal(key_id, "merchant", mid, "test", MERCHANT_SCOPES)))
        customers = []
        for i in range(3):
            cid, key_id, _ = platform.parties.create(operator, "customer", f"c{i}")
            payer = Principal(key_id, "customer", cid, "test", frozenset({"payments:write", "topups:write", "read"}))
            platform.topups.top_up(payer, positive_money("3.00", "USD"), "4242424242424242")
            customers.append(payer)
        paid: list[tuple[str, Principal]] = []
        open_holds: list[tuple[str, Principal]] = []
        for step in range(120):
            payer = rng.choice(customers)
            merchant_id, merchant = rng.choice(merchants)
            roll = rng.random()
            try:
                if roll < 0.45:
                    item = PaymentItem.of(merchant_id, f"0.0{rng.randint(1, 9)}", "USD", reference=f"r{step % 5}")
                    paid.append((platform.payments.pay(payer, item, None).id, merchant))
                elif roll < 0.6:
                    item = PaymentItem.of(merchant_id, "0.05", "USD", capture=False, hold_s=rng.choice([1, 3600]))
                    open_holds.append((platform.payments.pay(payer, item, f"h{step}").id, merchant))
                elif roll < 0.7 and open_holds:
                    hold_id, owner = open_holds.pop(rng.randrange(len(open_holds)))
                    if rng.random() < 0.5:
                        holds.capture(owner, hold_id, "0.03")
                    else:
                        holds.void(owner, hold_id)
                elif roll < 0.8 and paid:
                    pay_id, owner = rng.choice(paid)
                    platform.refunds.refund(owner, pay_id, "0.001", None)
                elif roll < 0.85:
                    platform.topups.top_up(payer, positive_money("1.00", "USD"), "4242424242424242")
                    time.sleep(0.2)  # let some one-second holds expire
            except PlatformError:
                pass  # refused (funds, a hold already gone): the ledger changed nothing, nor will the lines
            if rng.random() < 0.2:
                history.catch_up()
        # One hold surely expires: the next batch after its time releases it.
        platform.payments.pay(
            customers[0], PaymentItem.of(merchants[0][0], "0.01", "USD", capture=False, hold_s=1), "last"
        )
        time.sleep(1.2)
        platform.topups.top_up(customers[0], positive_money("1.00", "USD"), "4242424242424242")
        history.catch_up()

        rows = _rows(history.repo.db)
        last: dict[bytes, tuple[int, ...]] = {}
        for r in rows:
            account, side, amount, released = r[0], r[7], r[8], r[9]
            before = last.get(account, (0, 0, 0, 0))
            pending_delta = amount if (r[5] & 2 and not r[6]) else -released
            posted_delta = 0 if (r[5] & 2 or r[6]) else amount
            i = 0 if side == 0 else 2
            expected = list(before)
            expected[i] += pending_delta
            expected[i + 1] += posted_delta
            assert tuple(r[10:14]) == tuple(expected), r
            last[account] = tuple(r[10:14])
        accounts = {a.id: a.balances() for a in store.accounts()}
        moved = {int16(k): v for k, v in last.items()}
        assert moved and all(accounts[a] == b for a, b in moved.items())
        assert all(b == (0, 0, 0, 0) for a, b in accounts.items() if a not in moved)
        assert any(r[6] for r in rows)
        daily = _daily_from_lines(rows)  # what the dashboard's chart must show, summed line by line
        assert daily and {a: history.repo.daily(a, 0) for a in daily} == daily

        # A rebuild from nothing, in one pass, writes the very same rows.
        with history.repo.db.transaction() as tx:
            tx.query("DELETE FROM entries")
            tx.query("DELETE FROM payment_references")
            tx.query("DELETE FROM daily_totals")
            tx.query("UPDATE history_cursor SET seq = 0, outbox_id = 0")
        monkeypatch.setattr(history_module, "CHUNK_EVENTS", 1_000_000)
        history.catch_up()
        assert _rows(history.repo.db) == rows
        assert {a: history.repo.daily(a, 0) for a in daily} == daily

        # A database upgraded with lines already folded: those are summed from the lines, the rest kept.
        with history.repo.db.transaction() as tx:
            tx.query("DELETE FROM daily_totals")
            tx.query("UPDATE daily_totals_start SET seq = (SELECT seq FROM history_cursor WHERE id = 1)")
        for payer in customers:
            platform.payments.pay(payer, PaymentItem.of(merchants[0][0], "0.02", "USD"), None)
        history.catch_up()
        after = _daily_from_lines(_rows(history.repo.db))
        assert after != daily and {a: history.repo.daily(a, 0) for a in after} == after
    finally:
        history.close()
        platform.close()


def test_closing_does_not_wait_for_a_long_backlog(
    tmp_path: object, monkeypatch: pytest.MonkeyPatch, onboard: Callable[[Platform], tuple[str, Principal]]
) -> None:
    monkeypatch.setattr(history_module, "CHUNK_EVENTS", 1)  # a journal batch a chunk
    platform = open_platform(f"sqlite:///{tmp_path}/ledger.db")
    store = platform.ledger.engine.store
    try:
        mid, payer = onboard(platform)
        for _ in range(100):  # a hundred journal batches: a chunk never splits one
            platform.payments.pay(payer, PaymentItem.of(mid, "0.001", "USD"), None)
        slow_step = History._step

        def step(self: History) -> int:
            time.sleep(0.01)  # 100 chunks: a second behind
            return slow_step(self)

        monkeypatch.setattr(History, "_step", step)
        history = History(store, StatementTable(PlatformDb(store)))
        history.start(interval_s=0.01)
        time.sleep(0.2)  # mid-way through the backlog
        started = time.monotonic()
        history.close()
        assert time.monotonic() - started < 0.5
        monkeypatch.setattr(History, "_step", slow_step)
        again = History(store, StatementTable(PlatformDb(store)))
        try:
            assert again.catch_up() > 0  # what was left is folded by the next one
            [(seq,)] = again.repo.db.query("SELECT seq FROM history_cursor WHERE id = 1")
            assert seq == store.head().last_seq
        finally:
            again.close()
    finally:
        platform.close()


def test_two_folders_at_once_fold_each_event_once(
    store_url: str, monkeypatch: pytest.MonkeyPatch, onboard: Callable[[Platform], tuple[str, Principal]]
) -> None:
    """The server's reads and its projection process fold one database at once: neither fails, and the
    rows are those of one folder alone."""
    monkeypatch.setattr(history_module, "CHUNK_EVENTS", 1)  # many small chunks: many chances to collide
    platform = open_platform(store_url)
    store = platform.ledger.engine.store
    folders = [History(store, StatementTable(PlatformDb(store))) for _ in range(2)]
    try:
        mid, payer = onboard(platform)
        for _ in range(60):
            platform.payments.pay(payer, PaymentItem.of(mid, "0.001", "USD"), None)
        errors: list[BaseException] = []

        def fold(history: History) -> None:
            try:
                history.catch_up()
            except BaseException as exc:  # any failure is the finding
                errors.append(exc)

        threads = [threading.Thread(target=fold, args=(h,)) for h in folders]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert errors == []
        for history in (folders[1], folders[0], folders[0], folders[1]):  # each folder's remembered balances
            for _ in range(15):  # are good only while no other folded since: taking turns must not use them
                platform.payments.pay(payer, PaymentItem.of(mid, "0.002", "USD"), None)
            history.catch_up()
        folded = _rows(folders[0].repo.db)
        daily = _daily_from_lines(folded)
        assert {a: folders[0].repo.daily(a, 0) for a in daily} == daily  # each event added to the totals once
        folders[0].repo.db.query("DELETE FROM entries")
        folders[0].repo.db.query("DELETE FROM payment_references")
        folders[0].repo.db.query("DELETE FROM daily_totals")
        folders[0].repo.db.query("UPDATE history_cursor SET seq = 0, outbox_id = 0 WHERE id = 1")
        folders[0].catch_up()
        assert _rows(folders[0].repo.db) == folded
    finally:
        for h in folders:
            h.close()
        platform.close()
