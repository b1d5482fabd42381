-- A customer's account may be closed; its personal data is then kept for the policy's retention period
-- (`personal_data_days_after_close`) and erased by `farthing privacy sweep` after it.
ALTER TABLE parties ADD COLUMN closed_ms BIGINT;
