-- Where a device is installed, as its owner registered it: a piece of evidence of where its payments
-- are supplied (a VAT pack needs two that agree; the owner's billing country is the other).
ALTER TABLE devices ADD COLUMN country TEXT;
