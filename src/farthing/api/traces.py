"""OpenTelemetry traces, off by default: one server span per request, a child of the caller's.

`FARTHING_OTEL=otlp` sends spans to an OpenTelemetry collector over OTLP/HTTP (the standard `OTEL_*`
variables say where: `OTEL_EXPORTER_OTLP_ENDPOINT`, `OTEL_SERVICE_NAME`, …); `FARTHING_OTEL=console`
prints them as JSON on standard output, to try it without a collector. Needs the extra:
`pip install 'farthing[otel]'`.

A span is named by method and route template (`POST /v1/payments`), never the path, and carries the
status, the request id and the problem `code` of a refusal: no header, body, key or personal data. A
caller's W3C `traceparent` makes the span its child, so a merchant's trace goes on into Farthing.
"""

from __future__ import annotations

import os
from typing import Any

from starlette.types import Scope

from farthing.errors import ErrorCode, FarthingError

_KINDS = ("otlp", "console")


class Traces:
    def __init__(self, processor: Any) -> None:
        """`processor`: an OpenTelemetry span processor (the exporter behind it decides where spans go)."""
        from opentelemetry.propagate import extract
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.trace import SpanKind

        service = os.environ.get("OTEL_SERVICE_NAME") or "farthing"
        self.provider = TracerProvider(resource=Resource.create({"service.name": service}))
        self.provider.add_span_processor(processor)
        self.tracer = self.provider.get_tracer("farthing.api")
        self._extract = extract
        self._server = SpanKind.SERVER

    @classmethod
    def if_asked(cls) -> Traces | None:
        """The traces FARTHING_OTEL asks for (None: off)."""
        kind = os.environ.get("FARTHING_OTEL", "").strip().lower()
        if kind in ("", "0", "off"):
            return None
        if kind not in _KINDS:
            raise FarthingError(ErrorCode.validation_failed, f"FARTHING_OTEL is otlp, console or off, not {kind!r}")
        try:
            from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter
        except ImportError:
            raise FarthingError(
                ErrorCode.validation_failed, "FARTHING_OTEL needs the extra: pip install 'farthing[otel]'"
            ) from None
        if kind == "console":
            return cls(BatchSpanProcessor(ConsoleSpanExporter()))
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        return cls(BatchSpanProcessor(OTLPSpanExporter()))

    def start(self, scope: Scope) -> Any:
        """A span for the request, begun now; a child of the caller's `traceparent` if it sent one."""
        carrier = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"] if k in _PROPAGATED}
        parent = self._extract(carrier) if carrier else None
        return self.tracer.start_span(scope["method"], context=parent, kind=self._server)

    @staticmethod
    def end(span: Any, method: str, route: str, status: int, rid: bytes, code: str | None) -> None:
        span.update_name(f"{method} {route}")
        span.set_attribute("http.request.method", method)
        span.set_attribute("http.route", route)
        span.set_attribute("http.response.status_code", status)
        span.set_attribute("farthing.request_id", rid.decode())
        if code is not None:
            span.set_attribute("farthing.problem_code", code)
        if status >= 500:
            from opentelemetry.trace import Status, StatusCode

            span.set_status(Status(StatusCode.ERROR, code or str(status)))
        span.end()

    def shutdown(self) -> None:
        """Send what is still buffered, then stop."""
        self.provider.shutdown()


_PROPAGATED = (b"traceparent", b"tracestate")
