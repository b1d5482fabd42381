"""Options more than one command group takes."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        envvar="FARTHING_DATABASE_URL",
        help="sqlite:///abs/path.db, a file path, or postgresql://host/db (default: ./farthing.db)",
    ),
]


class Mode(StrEnum):
    """Test or live: the two worlds a platform keeps apart (keys, parties and money)."""

    test = "test"
    live = "live"
