"""`/healthz` (the process answers) and `/readyz` (the store answers, the projection keeps up, webhooks
are delivered): probes for a load balancer or an orchestrator, without a key; `/metrics` for Prometheus,
with the operator's key (`farthing.api.metrics`)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from farthing.api.deps import PlatformDep, PrincipalDep
from farthing.errors import ErrorCode, PlatformError

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


@router.get("/metrics", response_class=Response, responses={200: {"content": {CONTENT_TYPE_LATEST: {}}}})
def metrics(principal: PrincipalDep, request: Request) -> Response:
    """Metrics in Prometheus' text format (operator key): requests, refusals, payments, ledger batches,
    reconnections, the history projection's lag."""
    if principal.kind != "operator":
        raise PlatformError(ErrorCode.forbidden, "metrics need an operator key")
    return Response(generate_latest(request.app.state.metrics), media_type=CONTENT_TYPE_LATEST)
