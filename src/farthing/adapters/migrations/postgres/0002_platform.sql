-- The platform around the ledger: parties (merchants and customers), their wallets (one ledger
-- account per currency) and API keys (only a SHA-256 of each secret is kept).
CREATE TABLE parties (
    id text PRIMARY KEY,
    kind text NOT NULL CHECK (kind IN ('merchant', 'customer')),
    name text NOT NULL,
    mode text NOT NULL CHECK (mode IN ('test', 'live')),
    created_ms bigint NOT NULL
);

CREATE TABLE wallets (
    party_id text NOT NULL REFERENCES parties (id),
    currency text NOT NULL,
    account_id bytea NOT NULL UNIQUE,
    PRIMARY KEY (party_id, currency)
);

CREATE TABLE api_keys (
    id text PRIMARY KEY,
    secret_sha256 bytea NOT NULL UNIQUE,
    kind text NOT NULL CHECK (kind IN ('operator', 'merchant', 'customer')),
    party_id text REFERENCES parties (id),
    mode text NOT NULL CHECK (mode IN ('test', 'live')),
    scopes text NOT NULL,
    created_ms bigint NOT NULL,
    revoked_ms bigint
);
