-- WebAuthn ceremonies in progress (registering a passkey): the challenge the server issued, used once.
CREATE TABLE webauthn_ceremonies (
    id TEXT PRIMARY KEY,
    party_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    challenge BLOB NOT NULL,
    created_ms BIGINT NOT NULL,
    expires_ms BIGINT NOT NULL,
    used_ms BIGINT
);
