-- Answers to POSTs that move no money (parties, API keys, webhook endpoints), kept for retries with the
-- same Idempotency-Key. API key secrets are never kept. Payments, top-ups and refunds need no row here:
-- their ledger transfer ids are derived from the key.
CREATE TABLE idempotency_records (
    owner TEXT NOT NULL,
    key TEXT NOT NULL,
    route TEXT NOT NULL,
    request_sha256 BLOB NOT NULL,
    status INTEGER NOT NULL,
    body TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    PRIMARY KEY (owner, key)
);
CREATE INDEX idempotency_records_created ON idempotency_records (created_ms);

-- Webhook retries per endpoint, and redeliveries a merchant asks for by hand.
ALTER TABLE webhook_endpoints ADD COLUMN attempts_max INTEGER NOT NULL DEFAULT 8;
ALTER TABLE webhook_attempts ADD COLUMN manual INTEGER NOT NULL DEFAULT 0;
CREATE TABLE webhook_redeliveries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    endpoint_id TEXT NOT NULL REFERENCES webhook_endpoints (id),
    event_id TEXT NOT NULL,
    requested_ms INTEGER NOT NULL,
    attempted_ms INTEGER
);
CREATE INDEX webhook_redeliveries_due ON webhook_redeliveries (id) WHERE attempted_ms IS NULL;
