-- Payment channels: a payer's deposit for one merchant, held in the ledger as a pending transfer, paid
-- off-ledger with vouchers or a hash chain and redeemed by the merchant. The ledger is the truth for
-- the money (the k-th redemption posts the k-th hold, with ids derived from the channel and k); this
-- row holds the terms and a cache of the redemptions, which the service catches up from the ledger.
CREATE TABLE channels (
    id TEXT PRIMARY KEY,
    customer TEXT NOT NULL,
    merchant TEXT NOT NULL,
    currency TEXT NOT NULL,
    form TEXT NOT NULL,
    deposit TEXT NOT NULL,
    expires_ms BIGINT NOT NULL,
    dispute_ms BIGINT NOT NULL,
    public_key bytea,
    root bytea,
    unit TEXT NOT NULL,
    length BIGINT NOT NULL,
    created_ms BIGINT NOT NULL,
    status TEXT NOT NULL,
    settle_after_ms BIGINT,
    redemptions BIGINT NOT NULL,
    redeemed TEXT NOT NULL,
    redeemed_sequence BIGINT NOT NULL,
    redeemed_proof bytea
);
CREATE INDEX channels_customer ON channels (customer, created_ms);
CREATE INDEX channels_merchant ON channels (merchant, created_ms);
