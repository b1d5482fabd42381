-- How a session was signed in (password or passkey) and, for a passkey's, the SHA-256 of the user agent
-- that signed in: the cookie works from that browser only.
ALTER TABLE sessions ADD COLUMN method TEXT NOT NULL DEFAULT 'password';
ALTER TABLE sessions ADD COLUMN agent_sha256 BLOB;
