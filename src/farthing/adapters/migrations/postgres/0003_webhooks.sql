-- Events recorded with the money movements that caused them (same transaction), and the webhook
-- endpoints that receive them, each with its own cursor into the outbox and a log of attempts.
CREATE TABLE outbox (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id text NOT NULL UNIQUE,
    type text NOT NULL,
    party_id text NOT NULL,
    body text NOT NULL,
    created_ms bigint NOT NULL
);
CREATE INDEX outbox_party ON outbox (party_id, id);

CREATE TABLE webhook_endpoints (
    id text PRIMARY KEY,
    party_id text NOT NULL REFERENCES parties (id),
    url text NOT NULL,
    secret text NOT NULL,
    cursor bigint NOT NULL,
    attempt bigint NOT NULL DEFAULT 0,
    next_attempt_ms bigint NOT NULL DEFAULT 0,
    created_ms bigint NOT NULL
);

CREATE TABLE webhook_attempts (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    endpoint_id text NOT NULL REFERENCES webhook_endpoints (id),
    event_id text NOT NULL,
    attempt bigint NOT NULL,
    status_code bigint,
    error text,
    at_ms bigint NOT NULL
);
CREATE INDEX webhook_attempts_endpoint ON webhook_attempts (endpoint_id, id);
