"""`farthing serve --workers N`: N server processes on one listening socket, sharing nothing but the store.

uvicorn's supervisor spawns the workers (and starts one again if it dies); each builds its app with
`app()` from the settings this module leaves in the environment, and runs its own ledger engine, which
catches up with what the others committed before it validates (`LedgerEngine.commit`). The history
projection runs once, in a process of the supervisor's; webhook delivery and the channels' deadlines
run in the one worker holding the store's lease (`farthing.api.duties`).

What each worker keeps in memory stays its own: the per-key rate limits count the requests that worker
served, and the risk profiles hold the payments that worker saw.
"""

from __future__ import annotations

import os
from typing import Any

from fastapi import FastAPI

DB_ENV = "FARTHING_SERVE_DB"
POLICIES_ENV = "FARTHING_SERVE_POLICIES"


def app() -> FastAPI:
    """A worker's application (uvicorn's factory), on the store and policies the supervisor chose."""
    from farthing.api.app import create_app
    from farthing.bootstrap import Platform, open_platform
    from farthing.cli.logs import configure

    url = os.environ[DB_ENV]
    packs = [p for p in os.environ.get(POLICIES_ENV, "").split(",") if p]
    configure()

    def opened() -> Platform:
        platform = open_platform(url, packs)
        platform.ledger.shared = True  # the other workers write to the store all the time
        return platform

    return create_app(opened, project=False)


def serve(url: str, packs: list[str], workers: int, host: str, port: int, tls: dict[str, str]) -> None:
    """Run the supervisor until it is told to stop: the projection's process and `workers` servers."""
    import uvicorn

    from farthing.api.app import PROJECTOR_CHECK_S
    from farthing.services.projector import Projector

    os.environ[DB_ENV] = url
    os.environ[POLICIES_ENV] = ",".join(packs)
    projector = Projector(url)
    projector.start()
    projector.keep_alive(PROJECTOR_CHECK_S)
    options: dict[str, Any] = {"log_config": None, "access_log": False, **tls}
    try:
        uvicorn.run(f"{__name__}:app", factory=True, workers=workers, host=host, port=port, **options)
    finally:
        projector.close()
