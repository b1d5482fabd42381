-- What the policy engine needs to know about a party: its country (ISO 3166 alpha-2, the billing
-- country that is one piece of location evidence) and, for customers, an age band (adult or minor).
ALTER TABLE parties ADD COLUMN country TEXT;
ALTER TABLE parties ADD COLUMN age_band TEXT NOT NULL DEFAULT 'adult';
