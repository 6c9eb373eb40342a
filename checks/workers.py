"""The run's deadline and the few daemon threads that read ahead."""

from __future__ import annotations

import contextlib
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Deadline:
    """When reads must be finished: `seconds` after the run started (time.monotonic() based)."""

    seconds: float
    at: float

    @classmethod
    def after(cls, seconds: float) -> Deadline:
        return cls(seconds, time.monotonic() + seconds)

    def remaining(self) -> float:
        return max(0.0, self.at - time.monotonic())


class Workers:
    """A few daemon threads that run submitted calls: a read stuck past the deadline never keeps the process alive
    (unlike ThreadPoolExecutor's workers, which the interpreter joins at exit)."""

    def __init__(self, size: int, name: str = "xtcheck-read") -> None:
        self._tasks: queue.SimpleQueue[Callable[[], None] | None] = queue.SimpleQueue()
        self._local = threading.local()
        self._threads = [threading.Thread(target=self._loop, name=f"{name}-{i}", daemon=True) for i in range(size)]
        for thread in self._threads:
            thread.start()

    def submit(self, task: Callable[[], None]) -> None:
        self._tasks.put(task)

    def is_worker(self) -> bool:
        return getattr(self._local, "worker", False)

    def shutdown(self) -> None:
        """Let every idle worker end; one still inside a task ends with it (or with the process)."""
        for _ in self._threads:
            self._tasks.put(None)

    def _loop(self) -> None:
        self._local.worker = True
        while (task := self._tasks.get()) is not None:
            with contextlib.suppress(Exception):  # a task reports through its own future; the worker lives on
                task()
