"""`farthing serve --workers N`: N server processes on one listening socket, sharing nothing but the store.

uvicorn's supervisor spawns the workers (and starts one again if it dies); each builds its app with
`app()` from the settings this module leaves in the environment. Each worker runs its own ledger
engine, which catches up with what the others committed before it validates (`LedgerEngine.commit`);
or, on SQLite with `--writer`, the ledger has one writer, a process of the supervisor's that owns the
engine (`farthing.services.ledger_writer`), and the workers send it their requests over a Unix socket
(measured slower for single payments than an engine per worker, a little faster for batches: see the
README). The history projection runs once, in a process of the
supervisor's; webhook delivery and the channels' deadlines run in the one worker holding the store's
lease (`farthing.api.duties`).

What each worker keeps in memory stays its own: the per-key rate limits count the requests that worker
served, and the risk profiles hold the payments that worker saw.
"""

from __future__ import annotations

import os
from typing import Any

from fastapi import FastAPI

DB_ENV = "FARTHING_SERVE_DB"
POLICIES_ENV = "FARTHING_SERVE_POLICIES"
WRITER_ENV = "FARTHING_SERVE_LEDGER_AT"


def app() -> FastAPI:
    """A worker's application (uvicorn's factory), on the store and policies the supervisor chose."""
    from farthing.api.app import create_app
    from farthing.bootstrap import Platform, open_platform
    from farthing.cli.logs import configure

    url = os.environ[DB_ENV]
    packs = [p for p in os.environ.get(POLICIES_ENV, "").split(",") if p]
    configure()

    writer = os.environ.get(WRITER_ENV) or None

    def opened() -> Platform:
        platform = open_platform(url, packs, ledger_at=writer)
        platform.ledger.shared = True  # the other workers write to the store all the time
        return platform

    return create_app(opened, project=False)


def serve(
    url: str, packs: list[str], workers: int, host: str, port: int, tls: dict[str, str], writer: bool = False
) -> None:
    """Run the supervisor until it is told to stop: the projection's process, the ledger writer's (on
    SQLite with `writer`) and `workers` servers."""
    import tempfile

    import uvicorn

    from farthing.api.app import PROJECTOR_CHECK_S
    from farthing.services import ledger_writer
    from farthing.services.kept_process import KeptProcess
    from farthing.services.projector import Projector

    os.environ[DB_ENV] = url
    os.environ[POLICIES_ENV] = ",".join(packs)
    kept: list[KeptProcess] = [Projector(url)]
    folder = None
    if writer and url.startswith("sqlite:"):
        folder = tempfile.TemporaryDirectory(prefix="farthing-ledger-")  # made 0700: only this user enters
        socket_path = os.path.join(folder.name, "writer.sock")
        os.environ[WRITER_ENV] = socket_path
        kept.append(KeptProcess("farthing-ledger", "the ledger writer", ledger_writer.run, (url, socket_path)))
    for child in kept:
        child.start()
        child.keep_alive(PROJECTOR_CHECK_S)
    options: dict[str, Any] = {"log_config": None, "access_log": False, **tls}
    try:
        uvicorn.run(f"{__name__}:app", factory=True, workers=workers, host=host, port=port, **options)
    finally:
        for child in kept:
            child.close()
        if folder is not None:
            folder.cleanup()
