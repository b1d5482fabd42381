"""`invariant(condition, message)`: a check that holds even under `python -O`.

Programmer errors crash; operating errors are results. An invariant that fails means the code is
wrong (or the store was changed behind the engine's back), so it raises at once rather than let a
wrong balance be written.
"""

from __future__ import annotations


class InvariantError(AssertionError):
    """An internal rule that must always hold did not."""


def invariant(condition: bool, message: str) -> None:
    if not condition:
        raise InvariantError(message)
