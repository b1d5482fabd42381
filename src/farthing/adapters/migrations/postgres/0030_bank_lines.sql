-- The bank statements imported (camt.053), each once, and their lines: matched to the payout each paid
-- (a payout to one line at most), or left for a person to look at.
CREATE TABLE bank_statements (
    id TEXT PRIMARY KEY,
    imported_ms BIGINT NOT NULL
);
CREATE TABLE bank_lines (
    ref TEXT PRIMARY KEY,
    statement_id TEXT NOT NULL,
    booked TEXT NOT NULL,
    amount_minor BIGINT NOT NULL,
    currency TEXT NOT NULL,
    end_to_end TEXT,
    info TEXT NOT NULL,
    payout_id TEXT UNIQUE
);
CREATE INDEX bank_lines_unmatched ON bank_lines (statement_id) WHERE payout_id IS NULL;
