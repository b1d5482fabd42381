"""Moves the real clock of every Python process that starts with this folder on PYTHONPATH.

`FARTHING_TEST_TRAVEL="<destination ms>@<real ms>"` starts time-machine in each process (the test runner,
its workers, every server and projection the tests spawn) so that the wall clock reads the destination
plus the real time elapsed since `<real ms>`: all processes share one moved clock, and it ticks.
`FARTHING_TEST_TRAVEL="<destination ms>"` freezes it there instead. CI runs the suite once more with the
clock moved to the first of next month (`.ci/run`), so that a calendar bomb shows before it goes off.
"""

from __future__ import annotations

import os
import time

_TRAVEL = os.environ.get("FARTHING_TEST_TRAVEL", "")
if _TRAVEL:
    import time_machine

    destination, _, anchor = _TRAVEL.partition("@")
    if anchor:
        elapsed_ms = time.time_ns() // 1_000_000 - int(anchor)
        _traveller = time_machine.travel((int(destination) + elapsed_ms) / 1000, tick=True)
    else:
        _traveller = time_machine.travel(int(destination) / 1000, tick=False)
    _traveller.start()
    time.time_ns()  # time-machine ticks from the first reading, not from start(): read now, so that every
    # process's moved clock runs from the moment its destination was worked out (one clock across processes)
