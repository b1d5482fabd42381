-- An operator lists merchants and customers newest first, a page at a time (keyset: created_ms, id).
CREATE INDEX parties_listed ON parties (kind, created_ms, id);
