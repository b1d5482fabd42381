-- The events that name a payout or a dispute made in the ledger, found fast: a row the platform's tables
-- lost (a crash between the ledger's commit and the row's insert) is made again from its event.
CREATE INDEX outbox_made ON outbox (id) WHERE type IN ('payout.created', 'dispute.opened');
