"""Keeping the event loop free: code that may wait on the ledger or the database says so first.

`POST /v1/payments` prepares a payment on the event loop when everything it needs is known in memory
(wallets opened, parties checked, policy counters open): no thread hop, the fastest path. When the
preparation would have to wait (a wallet or a counter account to open, a party to look up), it stops
before changing anything with `WouldBlock`, and the payment is prepared again in a worker thread.

The mark is per thread: the event loop's thread sets it around a synchronous call (nothing awaits
inside), so no other coroutine can run meanwhile and see it.
"""

from __future__ import annotations

import threading


class WouldBlock(Exception):
    """Preparing this payment needs a round trip: prepare it off the event loop."""


class _Mark(threading.local):
    on_loop = False


MARK = _Mark()
"""`MARK.on_loop = True` around a synchronous call made on the event loop; reset it in a `finally`."""


def may_block() -> None:
    """Call before a round trip to the ledger or the database on a path the event loop may run."""
    if MARK.on_loop:
        raise WouldBlock
