-- The platform around the ledger: parties (merchants and customers), their wallets (one ledger
-- account per currency) and API keys (only a SHA-256 of each secret is kept).
CREATE TABLE parties (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('merchant', 'customer')),
    name TEXT NOT NULL,
    mode TEXT NOT NULL CHECK (mode IN ('test', 'live')),
    created_ms INTEGER NOT NULL
);

CREATE TABLE wallets (
    party_id TEXT NOT NULL REFERENCES parties (id),
    currency TEXT NOT NULL,
    account_id BLOB NOT NULL UNIQUE,
    PRIMARY KEY (party_id, currency)
);

CREATE TABLE api_keys (
    id TEXT PRIMARY KEY,
    secret_sha256 BLOB NOT NULL UNIQUE,
    kind TEXT NOT NULL CHECK (kind IN ('operator', 'merchant', 'customer')),
    party_id TEXT REFERENCES parties (id),
    mode TEXT NOT NULL CHECK (mode IN ('test', 'live')),
    scopes TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    revoked_ms INTEGER
);
