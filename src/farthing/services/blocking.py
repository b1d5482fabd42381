"""Keeping the event loop free: code that may wait on the ledger or the database says so first.

`POST /v1/payments` prepares a payment on the event loop when everything it needs is known in memory
(wallets opened, parties checked, policy counters open): no thread hop, the fastest path. When the
preparation would have to wait (a wallet or a counter account to open, a party to look up), it stops
before changing anything with `WouldBlock`, and the payment is prepared again in a worker thread.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_ON_LOOP: ContextVar[bool] = ContextVar("farthing_on_loop", default=False)


class WouldBlock(Exception):
    """Preparing this payment needs a round trip: prepare it off the event loop."""


@contextmanager
def on_the_loop() -> Iterator[None]:
    """Within: `may_block` refuses to wait (raises `WouldBlock`)."""
    token = _ON_LOOP.set(True)
    try:
        yield
    finally:
        _ON_LOOP.reset(token)


def may_block() -> None:
    """Call before a round trip to the ledger or the database on a path the event loop may run."""
    if _ON_LOOP.get():
        raise WouldBlock
