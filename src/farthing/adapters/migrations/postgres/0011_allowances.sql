-- One-click allowances: a payer lets a merchant charge its wallet without asking each time, within an
-- amount per payment, per day (in UTC) and in total, until it expires or is revoked. The total and the
-- day's room are also headroom accounts in the ledger, drawn on by every charge's linked chain.
CREATE TABLE allowances (
    id TEXT PRIMARY KEY,
    customer TEXT NOT NULL,
    merchant TEXT NOT NULL,
    currency TEXT NOT NULL,
    per_payment TEXT NOT NULL,
    per_day TEXT NOT NULL,
    total TEXT NOT NULL,
    evidence TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    expires_ms BIGINT NOT NULL,
    revoked_ms BIGINT
);
CREATE INDEX allowances_customer ON allowances (customer, created_ms);
CREATE INDEX allowances_merchant ON allowances (merchant, created_ms);
