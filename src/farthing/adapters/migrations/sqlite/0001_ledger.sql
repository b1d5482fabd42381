-- The ledger: accounts with their balances, transfers, expirations of pending transfers, and the
-- hash-chained journal. A 128-bit value (id, amount, balance) is an INTEGER below 2^63, else a 16-byte
-- big-endian BLOB: SQLite sorts INTEGERs before BLOBs, so order stays numeric (see adapters/rows.py).
-- seq (the rowid) is the account's place in the ledger's order; the engine updates balances by it.
CREATE TABLE accounts (
    seq INTEGER PRIMARY KEY,
    id BLOB NOT NULL UNIQUE,
    ledger INTEGER NOT NULL,
    code INTEGER NOT NULL,
    flags INTEGER NOT NULL,
    user_data BLOB,
    debits_pending BLOB NOT NULL,
    debits_posted BLOB NOT NULL,
    credits_pending BLOB NOT NULL,
    credits_posted BLOB NOT NULL,
    timestamp_ms INTEGER NOT NULL
);

-- seq is the rowid: transfers append in commit order. Ids are time-ordered when the engine makes them.
CREATE TABLE transfers (
    seq INTEGER PRIMARY KEY,
    id BLOB NOT NULL UNIQUE,
    debit_account_id BLOB NOT NULL,
    credit_account_id BLOB NOT NULL,
    amount BLOB NOT NULL,
    pending_id BLOB,
    user_data BLOB,
    ledger INTEGER NOT NULL,
    code INTEGER NOT NULL,
    flags INTEGER NOT NULL,
    timeout_s INTEGER NOT NULL,
    timestamp_ms INTEGER NOT NULL
);
-- A pending transfer is resolved at most once: the database enforces it too.
CREATE UNIQUE INDEX transfers_pending_id ON transfers (pending_id) WHERE pending_id IS NOT NULL;
CREATE INDEX transfers_pending ON transfers (seq) WHERE (flags & 2) != 0;

CREATE TABLE expirations (
    seq INTEGER PRIMARY KEY,
    pending_id BLOB NOT NULL UNIQUE,
    timestamp_ms INTEGER NOT NULL
);

CREATE TABLE journal (
    batch_no INTEGER PRIMARY KEY,
    first_seq INTEGER NOT NULL,
    last_seq INTEGER NOT NULL,
    timestamp_ms INTEGER NOT NULL,
    event_count INTEGER NOT NULL,
    prev_hash BLOB NOT NULL,
    hash BLOB NOT NULL
);

-- One row: the chain's tip. Writers lock it (BEGIN IMMEDIATE here) and so take turns per batch.
CREATE TABLE ledger_head (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    batch_no INTEGER NOT NULL,
    last_seq INTEGER NOT NULL,
    hash BLOB NOT NULL,
    timestamp_ms INTEGER NOT NULL
);
INSERT INTO ledger_head VALUES (1, 0, 0, zeroblob(32), 0);
