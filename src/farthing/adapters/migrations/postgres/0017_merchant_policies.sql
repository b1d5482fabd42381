-- A merchant's override of the platform's policy for one currency: a TOML pack that may tighten the
-- limits, SCA thresholds and consumer rules of the pack that decides that currency, never loosen a
-- legal one. Kept as written; the payment path composes it over the base pack.
CREATE TABLE merchant_policies (
    merchant TEXT NOT NULL,
    currency TEXT NOT NULL,
    source TEXT NOT NULL,
    version TEXT NOT NULL,
    updated_ms BIGINT NOT NULL,
    PRIMARY KEY (merchant, currency)
);
