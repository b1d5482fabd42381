-- Account statements: one row per account that a transfer or an expiry moved, with that account's
-- four balance columns after it. A projection of the ledger's events, built after the commit by
-- farthing.services.history, so the write path keeps no per-account index. u128 values are stored as in
-- the ledger's tables (INTEGER below 2^63, else a 16-byte BLOB); ids as 16-byte BLOBs.
CREATE TABLE entries (
    account_id BLOB NOT NULL,
    seq INTEGER NOT NULL,
    timestamp_ms INTEGER NOT NULL,
    transfer_id BLOB NOT NULL,
    code INTEGER NOT NULL,
    flags INTEGER NOT NULL,
    expired INTEGER NOT NULL,
    side INTEGER NOT NULL,
    amount BLOB NOT NULL,
    released BLOB NOT NULL,
    debits_pending BLOB NOT NULL,
    debits_posted BLOB NOT NULL,
    credits_pending BLOB NOT NULL,
    credits_posted BLOB NOT NULL,
    payment_id BLOB,
    reference_hash BLOB,
    PRIMARY KEY (account_id, seq)
) WITHOUT ROWID;
CREATE INDEX entries_reference ON entries (account_id, reference_hash) WHERE reference_hash IS NOT NULL;
CREATE INDEX entries_payment ON entries (payment_id) WHERE payment_id IS NOT NULL;

-- The merchant references that payments carried (from their outbox events), by payment transfer id.
CREATE TABLE payment_references (
    payment_id BLOB PRIMARY KEY,
    reference TEXT NOT NULL
);

-- How far the projection has read: the ledger's seq and the outbox's id.
CREATE TABLE history_cursor (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    seq INTEGER NOT NULL,
    outbox_id INTEGER NOT NULL
);
INSERT INTO history_cursor VALUES (1, 0, 0);
