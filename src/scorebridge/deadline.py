"""A wall-clock limit for long jobs (a cluster slot, a lent GPU): training loops ask `passed()` after each step
and leave with a checkpoint, so that rerunning the same command resumes where the time ran out."""

from __future__ import annotations

import time


class Deadline:
    """`seconds` from construction; None never passes."""

    def __init__(self, seconds: float | None) -> None:
        if seconds is not None and seconds <= 0:
            raise ValueError(f"a time limit must be positive, got {seconds}")
        self._end = None if seconds is None else time.monotonic() + seconds

    def passed(self) -> bool:
        return self._end is not None and time.monotonic() >= self._end

    @classmethod
    def minutes(cls, minutes: float | None) -> Deadline:
        return cls(None if minutes is None else minutes * 60.0)
