-- Answers to POSTs that move no money (parties, API keys, webhook endpoints), kept for retries with the
-- same Idempotency-Key. API key secrets are never kept. Payments, top-ups and refunds need no row here:
-- their ledger transfer ids are derived from the key.
CREATE TABLE idempotency_records (
    owner text NOT NULL,
    key text NOT NULL,
    route text NOT NULL,
    request_sha256 bytea NOT NULL,
    status integer NOT NULL,
    body text NOT NULL,
    created_ms bigint NOT NULL,
    PRIMARY KEY (owner, key)
);
CREATE INDEX idempotency_records_created ON idempotency_records (created_ms);

-- Webhook retries per endpoint, and redeliveries a merchant asks for by hand.
ALTER TABLE webhook_endpoints ADD COLUMN attempts_max integer NOT NULL DEFAULT 8;
ALTER TABLE webhook_attempts ADD COLUMN manual smallint NOT NULL DEFAULT 0;
CREATE TABLE webhook_redeliveries (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    endpoint_id text NOT NULL REFERENCES webhook_endpoints (id),
    event_id text NOT NULL,
    requested_ms bigint NOT NULL,
    attempted_ms bigint
);
CREATE INDEX webhook_redeliveries_due ON webhook_redeliveries (id) WHERE attempted_ms IS NULL;
