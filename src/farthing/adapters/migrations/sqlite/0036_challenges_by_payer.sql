-- A payer's payments waiting for its strong authentication, for its wallet page (a device's among them).
CREATE INDEX challenges_payer ON challenges (party_id, status, expires_ms);
