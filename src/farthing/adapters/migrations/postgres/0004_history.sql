-- Account statements: one row per account that a transfer or an expiry moved, with that account's
-- four balance columns after it. A projection of the ledger's events, built after the commit by
-- farthing.services.history, so the write path keeps no per-account index.
CREATE TABLE entries (
    account_id bytea NOT NULL,
    seq bigint NOT NULL,
    timestamp_ms bigint NOT NULL,
    transfer_id bytea NOT NULL,
    code integer NOT NULL,
    flags integer NOT NULL,
    expired smallint NOT NULL,
    side smallint NOT NULL,
    amount numeric(39, 0) NOT NULL,
    released numeric(39, 0) NOT NULL,
    debits_pending numeric(39, 0) NOT NULL,
    debits_posted numeric(39, 0) NOT NULL,
    credits_pending numeric(39, 0) NOT NULL,
    credits_posted numeric(39, 0) NOT NULL,
    payment_id bytea,
    reference_hash bytea,
    PRIMARY KEY (account_id, seq)
);
CREATE INDEX entries_reference ON entries (account_id, reference_hash) WHERE reference_hash IS NOT NULL;
CREATE INDEX entries_payment ON entries (payment_id) WHERE payment_id IS NOT NULL;

-- The merchant references that payments carried (from their outbox events), by payment transfer id.
CREATE TABLE payment_references (
    payment_id bytea PRIMARY KEY,
    reference text NOT NULL
);

-- How far the projection has read: the ledger's seq and the outbox's id.
CREATE TABLE history_cursor (
    id integer PRIMARY KEY CHECK (id = 1),
    seq bigint NOT NULL,
    outbox_id bigint NOT NULL
);
INSERT INTO history_cursor VALUES (1, 0, 0);
