-- Devices that pay for their own use from their owner's wallet, within the owner's caps: per payment
-- here, per UTC day and month also as headroom accounts in the ledger, drawn on by each payment's chain.
CREATE TABLE devices (
    id TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    public_key TEXT NOT NULL,
    currency TEXT NOT NULL,
    per_payment TEXT NOT NULL,
    per_day TEXT NOT NULL,
    per_month TEXT NOT NULL,
    merchants TEXT NOT NULL,
    status TEXT NOT NULL,
    mode TEXT NOT NULL,
    created_ms BIGINT NOT NULL
);
CREATE INDEX devices_owner ON devices (owner, created_ms);
