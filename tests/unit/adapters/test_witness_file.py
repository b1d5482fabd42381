"""The witness file keeps the newest head it was given, survives a torn slot, and can be reset."""

from __future__ import annotations

from pathlib import Path

from farthing.adapters.witness import WitnessFile
from farthing.domain.witness import Witnessed


def _head(n: int) -> Witnessed:
    return Witnessed(n, n * 10, bytes([n]) * 32)


def test_the_newest_recorded_head_is_read_back(tmp_path: Path) -> None:
    witness = WitnessFile(str(tmp_path / "w"))
    assert witness.read() is None
    for n in range(1, 6):
        witness.record(_head(n))
        assert witness.read() == _head(n)
    witness.close()
    assert WitnessFile(str(tmp_path / "w")).read() == _head(5)


def test_a_torn_slot_leaves_the_head_before_it(tmp_path: Path) -> None:
    witness = WitnessFile(str(tmp_path / "w"))
    witness.record(_head(7))
    witness.record(_head(8))
    witness.close()
    raw = bytearray((tmp_path / "w").read_bytes())
    raw[0:16] = b"\xff" * 16  # batch 8 went to slot 0: half written when the machine stopped
    (tmp_path / "w").write_bytes(bytes(raw))
    assert WitnessFile(str(tmp_path / "w")).read() == _head(7)


def test_reset_replaces_whatever_was_recorded(tmp_path: Path) -> None:
    witness = WitnessFile(str(tmp_path / "w"))
    witness.record(_head(9))
    witness.record(_head(10))
    witness.reset(_head(3))
    assert witness.read() == _head(3)
    witness.record(_head(4))
    assert witness.read() == _head(4)
