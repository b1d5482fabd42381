-- Personal data at rest: each field sealed (AES-256-GCM) under the subject's data key, which is kept
-- only wrapped by a master key. Erasure deletes the data key: the sealed fields can never be read again.
CREATE TABLE data_keys (
    subject TEXT PRIMARY KEY,
    master_key_id TEXT NOT NULL,
    sealed BLOB NOT NULL,
    created_ms BIGINT NOT NULL
);
CREATE TABLE personal_data (
    subject TEXT NOT NULL,
    field TEXT NOT NULL,
    sealed BLOB NOT NULL,
    PRIMARY KEY (subject, field)
);
ALTER TABLE parties ADD COLUMN erased_ms BIGINT;
