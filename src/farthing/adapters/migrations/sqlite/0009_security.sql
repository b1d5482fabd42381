-- Second factors of a party: TOTP secrets (the last time step accepted, so a code is used once) and
-- passkeys (WebAuthn credentials with their sign count; a count that goes back flags the passkey).
CREATE TABLE factors (
    id TEXT PRIMARY KEY,
    party_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    secret BLOB,
    credential_id BLOB,
    public_key BLOB,
    sign_count BIGINT NOT NULL DEFAULT 0,
    last_step BIGINT NOT NULL DEFAULT 0,
    created_ms BIGINT NOT NULL,
    confirmed_ms BIGINT,
    flagged_ms BIGINT,
    revoked_ms BIGINT
);
CREATE INDEX factors_party ON factors (party_id);
CREATE UNIQUE INDEX factors_credential ON factors (credential_id);
-- Recovery codes: 80 random bits each, kept as SHA-256; each works once.
CREATE TABLE recovery_codes (
    party_id TEXT NOT NULL,
    code_sha256 BLOB NOT NULL,
    created_ms BIGINT NOT NULL,
    used_ms BIGINT,
    PRIMARY KEY (party_id, code_sha256)
);
-- A payment that waits for strong authentication: its hold, the WebAuthn challenge, tries so far.
CREATE TABLE challenges (
    payment_id TEXT PRIMARY KEY,
    party_id TEXT NOT NULL,
    currency TEXT NOT NULL,
    webauthn_challenge BLOB NOT NULL,
    created_ms BIGINT NOT NULL,
    expires_ms BIGINT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    status TEXT NOT NULL
);
-- Each strong authentication starts a new epoch of the payer's SCA counters (they count from zero).
CREATE TABLE sca_epochs (
    party_id TEXT PRIMARY KEY,
    epoch BIGINT NOT NULL,
    authenticated_ms BIGINT NOT NULL
);
-- Security events, append-only: enrolments, step-ups, failures, erasures, sign-ins.
CREATE TABLE security_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at_ms BIGINT NOT NULL,
    kind TEXT NOT NULL,
    party_id TEXT,
    key_id TEXT,
    detail TEXT NOT NULL
);
CREATE INDEX security_events_party ON security_events (party_id, at_ms);
