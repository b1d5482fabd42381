-- Merchant keys gain their write scopes (refunds, captures and redemptions, webhooks, policy overrides),
-- which are now checked; a key may be made with fewer. Keys made before had only `read` and did all of it.
UPDATE api_keys SET scopes = 'read payments:write refunds:write webhooks:write policy:write'
WHERE kind = 'merchant' AND scopes = 'read';
