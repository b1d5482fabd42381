"""`answered`: a committer's future awaited on the event loop, as `asyncio.wrap_future` would."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import Future

import pytest

from farthing.engine.committer import answered


def later(action: object, delay_s: float = 0.02) -> None:
    threading.Timer(delay_s, action).start()  # type: ignore[arg-type]


def test_a_result_set_from_another_thread_is_awaited() -> None:
    async def main() -> list[int]:
        future: Future[list[int]] = Future()
        later(lambda: future.set_result([1, 2]))
        return await answered(future)

    assert asyncio.run(main()) == [1, 2]


def test_a_result_already_there_and_an_error_come_through() -> None:
    async def main() -> tuple[str, BaseException | None]:
        done: Future[str] = Future()
        done.set_result("at once")
        failing: Future[str] = Future()
        later(lambda: failing.set_exception(RuntimeError("the write failed")))
        try:
            await answered(failing)
        except RuntimeError as exc:
            return await answered(done), exc
        return await answered(done), None

    got, error = asyncio.run(main())
    assert got == "at once" and isinstance(error, RuntimeError) and str(error) == "the write failed"


def test_a_cancelled_waiter_cancels_the_request_and_a_cancelled_request_cancels_the_waiter() -> None:
    async def main() -> tuple[bool, bool]:
        waiting: Future[str] = Future()
        task = asyncio.create_task(answered(waiting))
        await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        dropped: Future[str] = Future()
        later(dropped.cancel)
        with pytest.raises(asyncio.CancelledError):
            await answered(dropped)
        return waiting.cancelled(), dropped.cancelled()

    assert asyncio.run(main()) == (True, True)
