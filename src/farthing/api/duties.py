"""The server's single duties (webhook delivery, channels near or past their deadline), done by one
process of those sharing a store: the holder of its lease (`farthing.adapters.lease`).

Each process looks every `LOOK_S`: one without the lease tries to take it (its holder may have died),
and the holder checks it still holds it (a PostgreSQL connection that dropped let it go) and stops its
duties if not. With one process, it takes the lease at start-up and keeps it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from farthing.adapters.lease import Lease
from farthing.bootstrap import Platform

LOOK_S = 2.0
"""How often a process looks at the lease: the longest webhooks wait after their dispatcher's process died."""

_log = logging.getLogger(__name__)


async def _warn_of_deadlines(platform: Platform, every_s: float) -> None:
    """Merchants told of their channels near their deadline (`farthing.services.channel_deadlines`), and
    the channels past it closed (`Channels.settle_due`)."""
    while True:
        try:
            await asyncio.to_thread(platform.channel_deadlines.warn)
            await asyncio.to_thread(platform.channels.settle_due)
        except Exception:  # the next look tries again; the server goes on
            _log.exception("channels near their deadline could not be looked at")
        await asyncio.sleep(every_s)


class Duties:
    def __init__(self, platform: Platform, lease: Lease, deadline_every_s: float) -> None:
        self.platform = platform
        self.lease = lease
        self.every_s = deadline_every_s
        self._deadlines: asyncio.Task[None] | None = None

    @property
    def mine(self) -> bool:
        return self._deadlines is not None

    async def look(self) -> None:
        """Give the duties up if the lease was lost; take them if it is free. Raises when the store does not
        answer (the next look tries again)."""
        if self.mine and not await asyncio.to_thread(self.lease.held):
            _log.error("the lease on webhook delivery was lost (its connection dropped); stopping delivery here")
            await self._give_up()
        if not self.mine:
            taken = await asyncio.to_thread(self.lease.try_take)
            self.platform.webhooks.elsewhere = not taken
            if taken:
                self._deadlines = asyncio.create_task(_warn_of_deadlines(self.platform, self.every_s))
                self.platform.webhooks.start()

    async def keep(self) -> None:
        """Look at the lease for as long as the server runs."""
        while True:
            await asyncio.sleep(LOOK_S)
            try:
                await self.look()
            except Exception:  # the store is away: the next look tries again
                _log.exception("the lease on the single duties could not be looked at")

    async def _give_up(self) -> None:
        self.platform.webhooks.elsewhere = False
        if self._deadlines is not None:
            self._deadlines.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._deadlines
            self._deadlines = None
        await asyncio.to_thread(self.platform.webhooks.pause)

    async def close(self) -> None:
        await self._give_up()
        self.lease.close()
