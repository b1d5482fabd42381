-- Disputes of payments: the amount held from the merchant (and what the platform covered), the merchant's
-- evidence, and how each was decided. The money itself moves in the ledger; this is the dispute's record.
CREATE TABLE disputes (
    id TEXT PRIMARY KEY,
    payment TEXT NOT NULL,
    customer TEXT NOT NULL,
    merchant TEXT NOT NULL,
    currency TEXT NOT NULL,
    mode TEXT NOT NULL,
    amount BIGINT NOT NULL,
    from_merchant BIGINT NOT NULL,
    from_platform BIGINT NOT NULL,
    reason TEXT NOT NULL,
    status TEXT NOT NULL,
    evidence TEXT,
    opened_ms BIGINT NOT NULL,
    due_ms BIGINT NOT NULL,
    closed_ms BIGINT
);
CREATE INDEX disputes_of_merchant ON disputes (merchant, opened_ms DESC);
CREATE INDEX disputes_of_customer ON disputes (customer, opened_ms DESC);
CREATE INDEX disputes_open ON disputes (mode, opened_ms DESC) WHERE status IN ('needs_response', 'under_review');
