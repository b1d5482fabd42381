-- A security event's personal data (the IP address and user agent of a sign-in) sealed under the
-- customer's data key: erasure destroys the key, and the row stays in the append-only log unreadable.
ALTER TABLE security_events ADD COLUMN personal BYTEA;
