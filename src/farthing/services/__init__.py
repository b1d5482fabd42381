"""Use cases: each module one thing a person or a process asks of Farthing."""
