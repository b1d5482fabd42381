"""Is the platform ready to serve: its store answers, the ledger's writer process answers (where one
takes this process's payments), the history projection keeps up, the webhook dispatcher runs. What
`/readyz` answers (a load balancer's or an orchestrator's probe)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from farthing.engine.store import Store
from farthing.services.history import History
from farthing.services.webhooks import Webhooks

PROJECTION_LAG_MAX = 200_000
"""Ledger events the history may trail by and still be called ready (a minute of heavy batched load)."""


@dataclass(frozen=True, slots=True)
class Readiness:
    ready: bool
    checks: dict[str, dict[str, object]] = field(default_factory=dict)


class Health:
    def __init__(
        self, store: Store, history: History, webhooks: Webhooks, lag_max: int = PROJECTION_LAG_MAX,
        writer: Callable[[], bool] | None = None,
    ) -> None:  # fmt: skip
        """`writer`: whether the ledger's writer process answers (`RemoteLedger.reachable`), where there is one."""
        self.store = store
        self.writer = writer
        self.history = history
        self.webhooks = webhooks
        self.lag_max = lag_max

    def readiness(self) -> Readiness:
        checks: dict[str, dict[str, object]] = {}
        try:
            head = self.store.head()
        except Exception as exc:  # whatever keeps the store from answering: the probe says so, plainly
            checks["store"] = {"ok": False, "detail": f"{type(exc).__name__}: {exc}"[:300]}
            return Readiness(False, checks)
        checks["store"] = {"ok": True, "batch": head.batch_no}
        if self.writer is not None:
            checks["ledger_writer"] = {"ok": self.writer()}
        lag = head.last_seq - self.history.folded_seq()
        checks["history"] = {"ok": lag <= self.lag_max, "lag_events": lag, "lag_max": self.lag_max}
        here = self.webhooks.running()
        checks["webhooks"] = {"ok": here or self.webhooks.elsewhere, "here": here}
        return Readiness(all(bool(c["ok"]) for c in checks.values()), checks)
