-- The ledger: accounts with their balances, transfers, expirations of pending transfers, and the
-- hash-chained journal. Ids are 16-byte big-endian bytea; amounts NUMERIC(39,0) (128-bit values).
CREATE TABLE accounts (
    id bytea PRIMARY KEY CHECK (length(id) = 16),
    ledger bigint NOT NULL,
    code integer NOT NULL,
    flags integer NOT NULL,
    user_data bytea,
    debits_pending numeric(39, 0) NOT NULL CHECK (debits_pending >= 0),
    debits_posted numeric(39, 0) NOT NULL CHECK (debits_posted >= 0),
    credits_pending numeric(39, 0) NOT NULL CHECK (credits_pending >= 0),
    credits_posted numeric(39, 0) NOT NULL CHECK (credits_posted >= 0),
    seq bigint NOT NULL UNIQUE,
    timestamp_ms bigint NOT NULL
);

CREATE TABLE transfers (
    seq bigint PRIMARY KEY,
    id bytea NOT NULL UNIQUE CHECK (length(id) = 16),
    debit_account_id bytea NOT NULL,
    credit_account_id bytea NOT NULL,
    amount numeric(39, 0) NOT NULL CHECK (amount >= 0),
    pending_id bytea,
    user_data bytea,
    ledger bigint NOT NULL,
    code integer NOT NULL,
    flags integer NOT NULL,
    timeout_s bigint NOT NULL,
    timestamp_ms bigint NOT NULL
);
CREATE UNIQUE INDEX transfers_pending_id ON transfers (pending_id) WHERE pending_id IS NOT NULL;
CREATE INDEX transfers_pending ON transfers (seq) WHERE (flags & 2) <> 0;

CREATE TABLE expirations (
    seq bigint PRIMARY KEY,
    pending_id bytea NOT NULL UNIQUE,
    timestamp_ms bigint NOT NULL
);

CREATE TABLE journal (
    batch_no bigint PRIMARY KEY,
    first_seq bigint NOT NULL,
    last_seq bigint NOT NULL,
    timestamp_ms bigint NOT NULL,
    event_count integer NOT NULL,
    prev_hash bytea NOT NULL,
    hash bytea NOT NULL
);

-- One row: the chain's tip. Each batch locks it (SELECT ... FOR UPDATE) first, so engine processes
-- sharing the database take turns per batch and each sees the others' commits before validating.
CREATE TABLE ledger_head (
    id integer PRIMARY KEY CHECK (id = 1),
    batch_no bigint NOT NULL,
    last_seq bigint NOT NULL,
    hash bytea NOT NULL,
    timestamp_ms bigint NOT NULL
);
INSERT INTO ledger_head VALUES (1, 0, 0, '\x0000000000000000000000000000000000000000000000000000000000000000', 0);
