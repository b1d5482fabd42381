-- Payouts: a merchant's balance sent to its bank. Its bank account (IBAN, BIC, holder) is sealed like
-- personal data (personal_data, subject "<merchant>/bank"); kept here in clear: the IBAN's country and
-- last four characters, to show which account it is.
CREATE TABLE payout_accounts (
    merchant_id TEXT PRIMARY KEY,
    country TEXT NOT NULL,
    last4 TEXT NOT NULL,
    updated_ms BIGINT NOT NULL
);
-- A merchant's terms per currency: when payouts are made, the least one may be, the rolling reserve.
CREATE TABLE payout_terms (
    merchant_id TEXT NOT NULL,
    currency TEXT NOT NULL,
    schedule TEXT NOT NULL,
    minimum BIGINT NOT NULL,
    threshold BIGINT NOT NULL,
    reserve_ppm BIGINT NOT NULL,
    reserve_days BIGINT NOT NULL,
    PRIMARY KEY (merchant_id, currency)
);
-- Each payout: a pending transfer from the merchant's wallet to the payouts clearing account, posted when
-- the bank confirms, voided (the money back in the wallet) when the bank returns it.
CREATE TABLE payouts (
    id TEXT PRIMARY KEY,
    merchant_id TEXT NOT NULL,
    currency TEXT NOT NULL,
    mode TEXT NOT NULL,
    amount BIGINT NOT NULL,
    reserve BIGINT NOT NULL,
    remainder BIGINT NOT NULL,
    transfer_id bytea NOT NULL,
    status TEXT NOT NULL,
    file_id TEXT,
    reason TEXT,
    created_ms BIGINT NOT NULL,
    settled_ms BIGINT
);
CREATE INDEX payouts_merchant ON payouts (merchant_id, created_ms);
CREATE INDEX payouts_status ON payouts (status, currency);
-- Merchant keys made with every scope gain the payouts one (asking for payouts, giving the bank account).
UPDATE api_keys SET scopes = 'read payments:write refunds:write webhooks:write policy:write payouts:write'
WHERE kind = 'merchant' AND scopes = 'read payments:write refunds:write webhooks:write policy:write';
