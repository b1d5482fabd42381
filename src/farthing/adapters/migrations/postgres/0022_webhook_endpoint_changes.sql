-- A merchant's endpoint may take some event types only (a comma-separated list; empty: every type),
-- and be deleted: a deleted endpoint keeps its row (its attempts log refers to it) and gets nothing more.
ALTER TABLE webhook_endpoints ADD COLUMN events TEXT NOT NULL DEFAULT '';
ALTER TABLE webhook_endpoints ADD COLUMN deleted_ms BIGINT;
