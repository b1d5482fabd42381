"""The pure core: money, ledger rules, journal encoding. No I/O, no clock, no randomness."""
