"""A paywall's channels redeemed without a person: a thread of the paywalled app that, every `every_s`,
turns each channel's newest accepted payment into money on the platform and closes the channels past
their expiry (what the payer did not spend goes back to it). Keep `every_s` well under the platform's
dispute window (an hour by default): a payment not redeemed within it after the channel's expiry or
close is lost to the merchant. A platform that cannot be reached is tried again at the next turn."""

from __future__ import annotations

import logging
import sqlite3
import threading

import httpx

from farthing.clock import Clock
from farthing.paywall.redeem import redeem

_log = logging.getLogger("farthing.paywall")


class AutoRedeem:
    def __init__(self, store: str, platform_url: str, api_key: str, every_s: float, clock_ms: Clock) -> None:
        if every_s <= 0:
            raise ValueError("redeem_every_s must be more than zero (None turns automatic redemption off)")
        self.store, self.platform_url, self.api_key = store, platform_url, api_key
        self.every_s = every_s
        self.clock_ms = clock_ms
        self.turns = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="farthing-paywall-redeem", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.every_s):
            try:
                done = redeem(self.store, self.platform_url, self.api_key, close_expired_at=self.clock_ms())
            except (httpx.HTTPError, OSError, sqlite3.Error) as exc:
                _log.warning("the paywall's channels could not be redeemed now (tried again in %.0f s): %s",
                             self.every_s, exc)  # fmt: skip
                continue
            refused = [r for r in done if r.status.startswith("refused")]
            if refused:
                _log.warning("the platform refused to redeem %d channels: %s", len(refused), refused[:5])
            self.turns += 1

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)
