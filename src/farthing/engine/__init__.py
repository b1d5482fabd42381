"""The ledger engine: the only writer of balances; batches, group commit, recovery."""
