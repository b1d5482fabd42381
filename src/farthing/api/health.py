"""`/healthz` (the process answers) and `/readyz` (the store answers, the projection keeps up, webhooks
are delivered): probes for a load balancer or an orchestrator, without a key."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from farthing.api.deps import PlatformDep

router = APIRouter(tags=["operations"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process lives and answers."""
    return {"status": "ok"}


@router.get("/readyz", responses={503: {"description": "not ready: see checks"}})
def readyz(platform: PlatformDep) -> JSONResponse:
    """Ready to serve: 200, or 503 naming the check that failed (store, history, webhooks)."""
    found = platform.health.readiness()
    body = {"status": "ready" if found.ready else "not_ready", "checks": found.checks}
    return JSONResponse(body, status_code=200 if found.ready else 503)
