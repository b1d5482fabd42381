-- Tax bases: one credit-only counter account per merchant, place of supply, rate and period, into which
-- every taxed payment adds its gross amount (a memo transfer linked with the payment). A period is
-- closed once: the tax is computed on the aggregate, rounded once to the currency, and booked.
CREATE TABLE tax_bases (
    account_id bytea PRIMARY KEY,
    merchant TEXT NOT NULL,
    place TEXT NOT NULL,
    kind TEXT NOT NULL,
    rate_ppm INTEGER NOT NULL,
    inclusive INTEGER NOT NULL,
    period TEXT NOT NULL,
    currency TEXT NOT NULL,
    closed_ms BIGINT
);
CREATE INDEX tax_bases_period ON tax_bases (period);
