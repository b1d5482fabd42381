"""Files kept beside a SQLite database (its witness, its lease): beside the file, none for a database in
memory, which has no file and one process."""

from __future__ import annotations

from pathlib import Path

import pytest

from farthing.adapters.lease import FileLease, SoleLease, lease_for
from farthing.adapters.open_store import sidecar, witness_for


@pytest.mark.parametrize("memory", [":memory:", "file:ledger?mode=memory&cache=shared"])
def test_a_database_in_memory_has_no_sidecar_and_its_lease_is_always_held(
    memory: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FARTHING_WITNESS", raising=False)
    assert sidecar(memory, "-lease") is None
    assert witness_for(memory) is None
    lease = lease_for(memory)
    assert isinstance(lease, SoleLease) and lease.try_take()


def test_a_files_sidecars_sit_beside_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FARTHING_WITNESS", raising=False)
    db = str(tmp_path / "ledger.db")
    assert sidecar(db, "-lease") == db + "-lease"
    lease = lease_for(f"sqlite:///{db}")
    assert isinstance(lease, FileLease) and lease.path == db + "-lease"
    witness = witness_for(db)
    assert witness is not None and witness.path == db + "-witness"
