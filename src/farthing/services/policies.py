"""Policy packs from files: the packs shipped with Farthing (`farthing/policies/*.toml`) and any
folder of the operator's, validated and composed by `farthing.domain.policy.load`.

A folder is read whole before anything is replaced: one bad file refuses the load, and the policy
already in force stays in force.
"""

from __future__ import annotations

from collections.abc import Iterable
from importlib import resources
from pathlib import Path

from farthing.domain.policy.load import PolicyError, compose, parse
from farthing.domain.policy.model import Policy, PolicyFile


def shipped() -> dict[str, PolicyFile]:
    """The packs that ship with Farthing, by pack id."""
    folder = resources.files("farthing") / "policies"
    return _by_id((f"policies/{e.name}", e.read_text(encoding="utf-8")) for e in folder.iterdir()
                  if e.name.endswith(".toml"))  # fmt: skip


def read_files(paths: Iterable[Path]) -> dict[str, PolicyFile]:
    return _by_id((str(p), p.read_text(encoding="utf-8")) for p in paths)


def _by_id(texts: Iterable[tuple[str, str]]) -> dict[str, PolicyFile]:
    packs: dict[str, PolicyFile] = {}
    names: dict[str, str] = {}
    for name, text in sorted(texts):
        pack = parse(text, name)
        if pack.pack.id in packs:
            raise PolicyError(name, f"pack id {pack.pack.id!r} is also defined in {names[pack.pack.id]}")
        packs[pack.pack.id] = pack
        names[pack.pack.id] = name
    return packs


def load(pack_id: str, extra: Iterable[Path] = (), override: Path | None = None) -> Policy:
    """The pack `pack_id` composed from the shipped packs and the operator's files (which may replace
    shipped packs of the same id), with a merchant's override file on top."""
    packs = {**shipped(), **read_files(extra)}
    mine = read_files([override])[next(iter(read_files([override])))] if override is not None else None
    return compose(packs, pack_id, mine)
