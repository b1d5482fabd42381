"""quick_init keeps a frozen dataclass what it was: same signature, defaults, checks, equality, frozenness."""

from __future__ import annotations

import dataclasses
import inspect

import pytest

from farthing.domain.ledger_types import Transfer
from farthing.domain.quick_init import quick_init


def make(quick: bool) -> type:
    @dataclasses.dataclass(frozen=True, slots=True)
    class Thing:
        a: int
        b: str = "b"
        c: tuple[int, ...] = ()

        def __post_init__(self) -> None:
            if self.a < 0:
                raise ValueError("a must not be negative")

    return quick_init(Thing) if quick else Thing


@pytest.mark.parametrize(
    ("args", "kwargs"), [((1,), {}), ((1, "x"), {}), ((1,), {"c": (2,)}), ((), {"a": 3, "b": "y", "c": (4, 5)})]
)
def test_instances_are_the_same_as_the_dataclass_makes(args: tuple[object, ...], kwargs: dict[str, object]) -> None:
    usual, quick = make(False)(*args, **kwargs), make(True)(*args, **kwargs)
    assert dataclasses.astuple(quick) == dataclasses.astuple(usual)
    assert repr(quick) == repr(usual) and hash(quick) == hash(usual)
    with pytest.raises(dataclasses.FrozenInstanceError):
        quick.a = 9  # type: ignore[misc]
    assert dataclasses.replace(quick, a=7).a == 7


def test_signature_checks_and_errors_are_kept() -> None:
    usual, quick = make(False), make(True)
    assert list(inspect.signature(quick).parameters) == list(inspect.signature(usual).parameters)
    for cls in (usual, quick):
        with pytest.raises(ValueError, match="negative"):
            cls(-1)
        with pytest.raises(TypeError):
            cls()
        with pytest.raises(TypeError):
            cls(1, "b", (), "too many")
    with pytest.raises(TypeError, match="must be an int"):
        Transfer(1, 2, 3, 4.5, 5, 6)  # type: ignore[arg-type]  # the ledger's check still runs


def test_only_frozen_slotted_plain_dataclasses_are_taken() -> None:
    @dataclasses.dataclass(slots=True)
    class Thawed:
        a: int

    @dataclasses.dataclass(frozen=True, slots=True)
    class Factory:
        a: list[int] = dataclasses.field(default_factory=list)

    for cls in (Thawed, Factory):
        with pytest.raises(TypeError, match="quick_init"):
            quick_init(cls)
