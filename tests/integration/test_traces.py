"""OpenTelemetry traces: a span per request named by route template, a child of the caller's
`traceparent`, carrying status, request id and problem code and nothing of the request's contents; and a
served process with FARTHING_OTEL=console prints its spans."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import httpx
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import calls
from farthing.api.metrics import HttpMetrics
from farthing.api.observe import Observed
from farthing.api.traces import Traces
from served import serve

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_ID = "00f067aa0ba902b7"


def test_a_request_is_a_span_named_by_its_route_and_a_child_of_the_callers_trace() -> None:
    exporter = InMemorySpanExporter()
    app = FastAPI()

    @app.get("/v1/things/{thing_id}")
    def thing(thing_id: str) -> JSONResponse:
        if thing_id == "missing":
            body = {"type": "urn:farthing:problem:not_found", "status": 404, "code": "not_found"}
            return JSONResponse(body, status_code=404, media_type="application/problem+json")
        return JSONResponse({"id": thing_id})

    traced = Observed(app, HttpMetrics(), None, Traces(SimpleSpanProcessor(exporter)))

    async def requests() -> None:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(traced), base_url="http://farthing") as client:
            parent = {"traceparent": f"00-{TRACE_ID}-{PARENT_ID}-01", "Request-Id": "trace-me"}
            assert (await client.get("/v1/things/secret-thing-42", headers=parent)).status_code == 200
            assert (await client.get("/v1/things/missing")).status_code == 404

    asyncio.run(requests())
    first, second = exporter.get_finished_spans()
    assert first.name == "GET /v1/things/{thing_id}"  # the template: never the path, which may say too much
    assert format(first.context.trace_id, "032x") == TRACE_ID
    assert first.parent is not None and format(first.parent.span_id, "016x") == PARENT_ID
    assert first.attributes is not None and first.attributes["http.response.status_code"] == 200
    assert first.attributes["farthing.request_id"] == "trace-me"
    assert "secret-thing-42" not in json.dumps(dict(first.attributes))
    assert second.parent is None and format(second.context.trace_id, "032x") != TRACE_ID  # a trace of its own
    assert second.attributes is not None and second.attributes["farthing.problem_code"] == "not_found"


def test_a_server_with_console_traces_prints_a_span_per_request(tmp_path: Path) -> None:
    env = {**os.environ, "FARTHING_OTEL": "console", "OTEL_SERVICE_NAME": "farthing-under-test"}
    out = tmp_path / "out.log"
    proc, base, operator = serve(f"sqlite:///{tmp_path}/ledger.db", out, env, tmp_path, (), tmp_path / "err.log")
    try:
        headers = {"Authorization": f"Bearer {operator}", "traceparent": f"00-{TRACE_ID}-{PARENT_ID}-01"}
        assert calls.get(f"{base}/v1/merchants", headers=headers, timeout=30).status_code == 200
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    text = out.read_text()
    assert '"name": "GET /v1/merchants"' in text, text[-2000:]
    assert f'"trace_id": "0x{TRACE_ID}"' in text and '"service.name": "farthing-under-test"' in text
    assert str(operator) not in text.split("Operator key", 1)[1].split("\n", 1)[1]  # printed once, never in a span


def test_an_unknown_trace_setting_stops_the_server_with_a_clear_error(tmp_path: Path) -> None:
    import subprocess
    import sys

    env = {**os.environ, "FARTHING_OTEL": "jaeger"}
    done = subprocess.run(
        [sys.executable, "-m", "farthing.cli", "serve", "--db", f"sqlite:///{tmp_path}/ledger.db", "--port", "1"],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2, done.stdout + done.stderr
    assert "FARTHING_OTEL is otlp, console or off" in done.stdout + done.stderr
    assert "Traceback" not in done.stderr
