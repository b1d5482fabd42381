"""The shape `docs/architecture.md` draws: no import cycle between files, no upward import, and the
size limits (modules of at most 400 lines, functions of at most 70)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[3] / "src"
PACKAGE = SRC / "farthing"
LEAVES = {"farthing.errors", "farthing.limits", "farthing.clock"}
MAY_IMPORT = {
    "domain": {"domain"},
    "engine": {"domain", "engine"},
    "adapters": {"domain", "engine", "adapters"},
    "services": {"domain", "engine", "adapters", "services"},
    "bootstrap": {"domain", "engine", "adapters", "services"},
    "client": {"client"},
    "iot": {"domain", "client", "iot", "paywall"},
    "web": {"domain", "services", "bootstrap", "web"},
}
"""What each layer may import of Farthing besides the leaves (api, cli, sim and paywall sit on top)."""


def _modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(SRC).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


MODULES = _modules()


def _imports(name: str, path: Path) -> set[str]:
    """The Farthing modules `name` imports, wherever in the file (a deferred import counts too)."""
    found = set()
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(
                    package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else [])
                )
            submodules = {f"{base}.{a.name}" for a in node.names} & MODULES.keys()
            found |= submodules
            if len(submodules) < len(node.names):  # names defined in `base` itself
                found.add(base)
    return {m for m in found if m in MODULES and m != name}


GRAPH = {name: _imports(name, path) for name, path in MODULES.items()}


def _layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def test_no_module_imports_a_layer_above_its_own() -> None:
    upward = []
    for module, imported in GRAPH.items():
        allowed = MAY_IMPORT.get(_layer(module))
        if allowed is None:
            continue
        for other in imported:
            if other not in LEAVES and _layer(other) not in allowed and other != "farthing":
                upward.append(f"{module} -> {other}")
    assert upward == []


def test_there_is_no_import_cycle_between_files() -> None:
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def visit(module: str, path: list[str]) -> None:
        state[module] = 1
        for other in sorted(GRAPH[module]):
            if state.get(other) == 1:
                cycles.append([*path[path.index(other) :], other])
            elif other not in state:
                visit(other, [*path, other])
        state[module] = 2

    for module in sorted(GRAPH):
        if module not in state:
            visit(module, [module])
    assert cycles == []


@pytest.mark.parametrize("module", sorted(MODULES))
def test_a_module_stays_small(module: str) -> None:
    path = MODULES[module]
    lines = len(path.read_text().splitlines())
    assert lines <= 400, f"{path.relative_to(SRC)} has {lines} lines"
    long = [
        f"{node.name} ({node.end_lineno - node.lineno + 1} lines)"  # type: ignore[operator]
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.end_lineno - node.lineno + 1 > 70  # type: ignore[operator]
    ]
    assert long == [], f"{path.relative_to(SRC)}: functions over 70 lines"
