"""Risk: pure rules over what a party did (no I/O), each answering allowed or not, and why."""
