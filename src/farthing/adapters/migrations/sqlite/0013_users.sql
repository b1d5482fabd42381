-- People who sign in: payers (their customer), merchant staff (their merchant) and operators. The email
-- is kept only as an HMAC for look-up and sealed like other personal data; the password as argon2id.
CREATE TABLE users (
    id TEXT PRIMARY KEY,
    role TEXT NOT NULL,
    party_id TEXT,
    mode TEXT NOT NULL,
    email_hmac BLOB NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    failures INTEGER NOT NULL DEFAULT 0,
    locked_until_ms BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX users_party ON users (party_id);
-- Browser sessions: the cookie's SHA-256, the CSRF token that must come with every unsafe request.
CREATE TABLE sessions (
    id_sha256 BLOB PRIMARY KEY,
    user_id TEXT NOT NULL,
    csrf_token TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    expires_ms BIGINT NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);
-- One-time password-reset tokens, kept as SHA-256.
CREATE TABLE password_resets (
    token_sha256 BLOB PRIMARY KEY,
    user_id TEXT NOT NULL,
    expires_ms BIGINT NOT NULL,
    used_ms BIGINT
);
