-- An operator finds the payments that carried a merchant's reference, whoever made them (newest first).
CREATE INDEX entries_by_reference ON entries (reference_hash, seq) WHERE reference_hash IS NOT NULL;
