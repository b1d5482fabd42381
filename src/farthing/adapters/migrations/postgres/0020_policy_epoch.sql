-- Bumped whenever a merchant's policy override is put or dropped: each process reads this one row (at
-- most once a second) instead of every merchant's override.
CREATE TABLE policy_epoch (
    id INTEGER PRIMARY KEY,
    n BIGINT NOT NULL
);
INSERT INTO policy_epoch (id, n) VALUES (1, 0);
