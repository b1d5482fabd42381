-- Each account's money by UTC day and kind (payments received, platform fees, refunds), kept by the
-- history projection in the same transaction as the lines it folds: the dashboard's chart reads a row a
-- day instead of every line of those days. Lines folded before this table existed (seq at most
-- daily_totals_start.seq) are still summed from `entries` when a chart reaches back to them.
CREATE TABLE daily_totals (
    account_id BLOB NOT NULL,
    day INTEGER NOT NULL,
    code INTEGER NOT NULL,
    amount BLOB NOT NULL,
    PRIMARY KEY (account_id, day, code)
) WITHOUT ROWID;
CREATE TABLE daily_totals_start (seq INTEGER NOT NULL);
INSERT INTO daily_totals_start SELECT seq FROM history_cursor WHERE id = 1;
