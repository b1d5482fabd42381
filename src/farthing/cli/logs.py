"""The server's logs: one structured line per record, with `structlog` rendering the standard library's
records (Farthing's, uvicorn's, psycopg's alike) on standard error.

`FARTHING_LOG_FORMAT=json` (the default when standard error is not a terminal) writes one JSON object
per line: `timestamp` (UTC, ISO 8601), `level`, `logger`, `event` and the record's own fields (an access
line's `method`, `route`, `status`, `ms`, `request_id`, `code`), a traceback as `exception`.
`FARTHING_LOG_FORMAT=text` writes the same as `key=value` text for a person at a terminal.
`FARTHING_LOG_LEVEL` (default WARNING) is the least level written; `FARTHING_ACCESS_LOG=1` adds the
access lines, in the same shape (`farthing.api.observe.AccessLog` writes them itself, for speed).
What is logged never holds a key, a card number, a body or a header: records name routes, codes and ids.
"""

from __future__ import annotations

import logging
import os
import sys

import structlog


def configure() -> None:
    chosen = os.environ.get("FARTHING_LOG_FORMAT") or ("text" if sys.stderr.isatty() else "json")
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer() if chosen == "json" else structlog.dev.ConsoleRenderer(colors=False)
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[
            structlog.stdlib.add_log_level,
            structlog.stdlib.add_logger_name,
            structlog.stdlib.ExtraAdder(),
            structlog.processors.TimeStamper(fmt="iso", utc=True),
        ],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info if chosen == "json" else _keep,
            renderer,
        ],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(os.environ.get("FARTHING_LOG_LEVEL", "WARNING").upper())
    logging.captureWarnings(True)  # Python's warnings as records too: no line on standard error is not JSON


def _keep(_: object, __: str, event: structlog.types.EventDict) -> structlog.types.EventDict:
    return event
