-- The console's lists without reading whole tables: payments' step-ups newest first, security events
-- newest first, and the customers whose cards were declined lately (whose top-ups may be paused).
CREATE INDEX challenges_recent ON challenges (created_ms);
CREATE INDEX security_events_recent ON security_events (at_ms);
CREATE INDEX topup_attempts_declined ON topup_attempts (at_ms) WHERE declined = 1;
