-- The risk engine's records: payments it stepped up or refused, with what it scored them on (the review
-- queue; a label teaches the model from the features kept here), and payments labelled fraud or not
-- (by an operator, or by a dispute lost), from which the platform's fraud rate is worked out.
CREATE TABLE risk_reviews (
    payment TEXT PRIMARY KEY,
    customer TEXT NOT NULL,
    merchant TEXT NOT NULL,
    currency TEXT NOT NULL,
    mode TEXT NOT NULL,
    amount BIGINT NOT NULL,
    score INTEGER NOT NULL,
    outcome TEXT NOT NULL,
    reasons TEXT NOT NULL,
    features TEXT NOT NULL,
    created_ms BIGINT NOT NULL
);
CREATE INDEX risk_reviews_newest ON risk_reviews (mode, created_ms DESC);
CREATE TABLE risk_labels (
    payment TEXT PRIMARY KEY,
    currency TEXT NOT NULL,
    mode TEXT NOT NULL,
    amount BIGINT NOT NULL,
    paid BOOLEAN NOT NULL,
    fraud BOOLEAN NOT NULL,
    source TEXT NOT NULL,
    note TEXT NOT NULL,
    paid_ms BIGINT NOT NULL,
    labelled_ms BIGINT NOT NULL,
    labelled_by TEXT NOT NULL
);
CREATE INDEX risk_labels_fraud ON risk_labels (currency, mode, paid_ms);
