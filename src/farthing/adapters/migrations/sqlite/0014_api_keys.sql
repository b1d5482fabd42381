-- API keys: a display prefix (to tell keys apart without their secret), when each was last used
-- (updated at most once a minute), and an end for a key being rolled (the overlap of a rotation).
ALTER TABLE api_keys ADD COLUMN prefix TEXT;
ALTER TABLE api_keys ADD COLUMN last_used_ms BIGINT;
ALTER TABLE api_keys ADD COLUMN expires_ms BIGINT;
