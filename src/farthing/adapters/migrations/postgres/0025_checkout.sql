-- Hosted checkout: a merchant's request to be paid (amount in ledger units as text: a u128 may not fit a
-- BIGINT), paid at most once (payment_id set once), the allowance its payer granted on the way, and the
-- origins its payers may be sent back to.
CREATE TABLE checkout_sessions (
    id TEXT PRIMARY KEY,
    merchant TEXT NOT NULL,
    mode TEXT NOT NULL,
    amount_units TEXT NOT NULL,
    currency TEXT NOT NULL,
    description TEXT NOT NULL,
    return_url TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    expires_ms BIGINT NOT NULL,
    customer TEXT,
    payment_id TEXT,
    allowance TEXT
);
CREATE TABLE checkout_origins (
    merchant TEXT NOT NULL,
    origin TEXT NOT NULL,
    PRIMARY KEY (merchant, origin)
);
