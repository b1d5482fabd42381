"""The FastAPI application: its routers (one per resource), middleware and problem+json errors.

Routes are plain functions run in the server's thread pool (the busiest, `POST /v1/payments`, awaits
the group committer on the event loop instead), which coalesces concurrent requests into one database
transaction per batch. Amounts are decimal strings in and out, never JSON numbers. Every service is
built at start-up by `farthing.bootstrap.open_platform` and reached through `farthing.api.deps`.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import os
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI
from prometheus_client import CollectorRegistry
from starlette.middleware import Middleware
from starlette.staticfiles import StaticFiles

from farthing.adapters.lease import lease_for
from farthing.api import (
    allowances,
    auth,
    channels,
    checkout,
    deps,
    devices,
    disputes,
    health,
    holds,
    keys,
    openapi_auth,
    overrides,
    parties,
    payment_list,
    payments,
    payouts,
    privacy,
    problems,
    processor,
    refunds,
    risk,
    security,
    tax,
    wallets,
    webhooks,
)
from farthing.api.body_guard import BodyGuard
from farthing.api.cors import MerchantCors
from farthing.api.duties import Duties
from farthing.api.lean_route import LeanDispatch
from farthing.api.metrics import HttpCollector, HttpMetrics, PlatformCollector
from farthing.api.observe import AccessLog, Observed
from farthing.api.query_guard import known_query
from farthing.api.rate_limits import RateLimiter
from farthing.api.traces import Traces
from farthing.api.unexpected import Unexpected
from farthing.bootstrap import Platform
from farthing.services import heap
from farthing.services.projector import Projector
from farthing.web import allowances as allowance_pages
from farthing.web import (
    channel_pages,
    console,
    console_queues,
    dashboard,
    device_pages,
    docs,
    merchant_payments,
    payout_pages,
    policy_pages,
    risk_pages,
    visitors,
    wallet,
    webhook_pages,
    your_data,
)
from farthing.web import checkout as checkout_pages
from farthing.web import security as security_pages

ROUTERS = (payments, payment_list, parties, wallets, tax, keys, webhooks, holds, refunds, channels, security,
           allowances, devices, privacy, overrides, checkout, payouts, disputes, risk, processor, auth,
           health)  # fmt: skip
"""In the order Starlette tries them: the busiest route (`POST /v1/payments`) first, as matching routes
was 8 % of the loop's time."""
PAGES = (wallet, your_data, security_pages, checkout_pages, allowance_pages, channel_pages, device_pages, dashboard,
         merchant_payments, payout_pages, webhook_pages, console, console_queues, risk_pages, policy_pages,
         docs)  # fmt: skip
"""The pages people read (`farthing.web`), tried after the API's routes."""


def _telemetry() -> dict[str, Any]:
    """FastAPI's native OpenTelemetry (from 0.16x) asks on every request whether a provider is set up,
    which was 9 % of the server's time: off unless FARTHING_TELEMETRY=1 asks for it."""
    if os.environ.get("FARTHING_TELEMETRY") == "1" or "telemetry" not in inspect.signature(FastAPI).parameters:
        return {}
    return {"telemetry": {"tracing": False, "metrics": False, "logs": False}}


PROJECTOR_CHECK_S = 5.0
"""How often the server looks whether the history projection's process is still running."""


_log = logging.getLogger(__name__)


@asynccontextmanager
async def _projecting(platform: Platform, project: bool) -> AsyncIterator[None]:
    """The history projection kept close behind in a process of its own, restarted if it dies (none
    when not `project`)."""
    if not project:
        yield
        return
    projector = Projector(platform.ledger.engine.store.url)
    projector.start()
    projector.keep_alive(PROJECTOR_CHECK_S)
    try:
        yield
    finally:
        projector.close()


def create_app(open_platform: Callable[[], Platform], project: bool = True) -> FastAPI:
    """The application; `open_platform` is called at start-up, and the platform closed at shutdown.
    `project`: keep the history projection close behind in a process of its own (the policy lab, which
    folds it at moments of its own choosing, says no)."""

    registry = CollectorRegistry()
    counts = HttpMetrics()
    registry.register(HttpCollector(counts))
    access = AccessLog.if_asked()
    traces = Traces.if_asked()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        platform = app.state.platform = open_platform()
        recovered = await asyncio.to_thread(platform.recover)
        if any(recovered.values()):
            _log.warning("rows made again from the ledger's events after a crash: %s", recovered)
        collector = PlatformCollector(platform)
        registry.register(collector)
        every_s = float(os.environ.get("FARTHING_CHANNEL_WARN_EVERY_S", "300"))
        duties = Duties(platform, lease_for(platform.ledger.engine.store.url), every_s)
        await duties.look()
        looking = asyncio.create_task(duties.keep())
        heap.settle()  # keep the collector's full passes short (farthing.services.heap)
        try:
            async with _projecting(platform, project):
                yield
        finally:
            registry.unregister(collector)
            looking.cancel()
            await duties.close()
            platform.close()
            if access is not None:
                access.flush()  # the last requests' lines, before the process goes
            if traces is not None:
                traces.shutdown()  # and the last spans

    app = FastAPI(
        middleware=[
            Middleware(Observed, metrics=counts, access=access, traces=traces),
            Middleware(Unexpected),
            Middleware(MerchantCors),
            Middleware(RateLimiter),
            Middleware(BodyGuard),
            Middleware(LeanDispatch),
        ],
        title="Farthing",
        version="0.1.0",
        description="Micropayments on an exact, batched, hash-chained ledger. Errors are RFC 9457 problem+json.",
        lifespan=lifespan,
        docs_url=None,  # the pages' own /docs: Swagger UI from this server's files, never a CDN
        redoc_url=None,
        **_telemetry(),
    )
    app.state.metrics = registry
    problems.install(app)
    problems.document(app)
    openapi_auth.document(app, authenticates=deps.authenticate)
    for module in ROUTERS:
        app.include_router(module.router, dependencies=[Depends(known_query)])
    for pages in PAGES:
        app.include_router(pages.router)
    app.add_exception_handler(visitors.PageAnswer, visitors.answer)
    app.mount("/static", StaticFiles(packages=[("farthing.web", "static")]), name="static")
    app.state.lean_routers = [module.router for module in ROUTERS]  # what LeanDispatch answers itself
    return app
