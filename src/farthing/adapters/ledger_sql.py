"""SQL the two stores share, written once. `{p}` stands for the sequence-number parameter in each
driver's style (`?1` for sqlite3, `%(seq)s` for psycopg); both drivers then pass `{"seq": n}` or `(n,)`.
"""

from __future__ import annotations

from farthing.domain.journal import JournalRecord

ACCOUNT_COLS = (
    "id, ledger, code, flags, user_data, debits_pending, debits_posted, credits_pending, credits_posted, "
    "seq, timestamp_ms"
)
TRANSFER_COLS = "id, debit_account_id, credit_account_id, amount, ledger, code, flags, pending_id, user_data, timeout_s"

CHANGED_ACCOUNTS = (
    # The accounts a catch-up must re-read: created after the seq, or moved by a transfer or an expiry after it.
    f"SELECT {ACCOUNT_COLS} FROM accounts WHERE seq > {{p}} OR id IN ("
    "SELECT debit_account_id FROM transfers WHERE seq > {p} "
    "UNION SELECT credit_account_id FROM transfers WHERE seq > {p} "
    "UNION SELECT t.debit_account_id FROM expirations e JOIN transfers t ON t.id = e.pending_id WHERE e.seq > {p} "
    "UNION SELECT t.credit_account_id FROM expirations e JOIN transfers t ON t.id = e.pending_id WHERE e.seq > {p})"
)
OPENED_PENDING = (
    # Pending transfers committed after the seq and not yet posted, voided or expired.
    f"SELECT {TRANSFER_COLS}, t.timestamp_ms FROM transfers t WHERE (flags & 2) <> 0 AND seq > {{p}} "
    "AND NOT EXISTS (SELECT 1 FROM transfers r WHERE r.pending_id = t.id) "
    "AND NOT EXISTS (SELECT 1 FROM expirations e WHERE e.pending_id = t.id)"
)
CLOSED_PENDING = (
    # Pending transfers posted, voided or expired after the seq.
    "SELECT pending_id FROM transfers WHERE seq > {p} AND pending_id IS NOT NULL "
    "UNION ALL SELECT pending_id FROM expirations WHERE seq > {p}"
)
PENDING_WITH_STATUS = (
    # A transfer with the flags of whatever resolved it, and whether it expired: its pending status.
    f"SELECT {TRANSFER_COLS}, t.timestamp_ms, "
    "(SELECT r.flags FROM transfers r WHERE r.pending_id = t.id), "
    "EXISTS (SELECT 1 FROM expirations e WHERE e.pending_id = t.id) "
    "FROM transfers t WHERE "
)

# Written with `?` placeholders; the PostgreSQL store turns them into `%s`.
INSERT_JOURNAL = (
    "INSERT INTO journal (batch_no, first_seq, last_seq, timestamp_ms, event_count, prev_hash, hash) "
    "VALUES (?, ?, ?, ?, ?, ?, ?)"
)
ADVANCE_HEAD = "UPDATE ledger_head SET batch_no = ?, last_seq = ?, hash = ?, timestamp_ms = ? WHERE id = 1"


def journal_row(rec: JournalRecord) -> tuple[object, ...]:
    return (rec.batch_no, rec.first_seq, rec.last_seq, rec.timestamp_ms, rec.event_count, rec.prev_hash, rec.hash)


def head_row(rec: JournalRecord) -> tuple[object, ...]:
    return (rec.batch_no, rec.last_seq, rec.hash, rec.timestamp_ms)
