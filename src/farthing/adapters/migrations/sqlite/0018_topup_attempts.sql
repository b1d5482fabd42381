-- Each card top-up tried, declined or not: what the top-up velocity guard (`domain/risk/velocity.py`)
-- reads to pause a customer whose cards keep being declined (card testing).
CREATE TABLE topup_attempts (
    party_id TEXT NOT NULL,
    at_ms BIGINT NOT NULL,
    declined INTEGER NOT NULL
);
CREATE INDEX topup_attempts_party ON topup_attempts (party_id, at_ms);
