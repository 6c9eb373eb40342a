"""The progress line on a terminal: responses read and outcomes evaluated, on one line that updates in place and is
cleared at the end. Only the CLI makes one, and only for a terminal (never with -q, never into a pipe or a file)."""

from __future__ import annotations

import threading
import time
from typing import Protocol, TextIO


class Listener(Protocol):
    """What a run reports while it works; called from any thread."""

    def response(self, host: str, size: int) -> None:
        """A response was read to the end (`size` bytes)."""

    def counted(self, check_id: str, outcomes: int) -> None:
        """A check over a large set has produced this many outcomes so far."""

    def audited(self, done: int, total: int) -> None:
        """An estate's run: `done` of its `total` targets are audited."""


class ProgressLine:
    """`xtcheck: 23 responses read (41.2 MB) · MBX-003 60,000 evaluated`, redrawn at most every `interval` s."""

    def __init__(self, stream: TextIO, *, interval: float = 0.1) -> None:
        self._stream = stream
        self._interval = interval
        self._lock = threading.Lock()
        self._responses = 0
        self._bytes = 0
        self._check: tuple[str, int] | None = None
        self._targets: tuple[int, int] | None = None
        self._drawn = 0  # width of the line on screen
        self._last = 0.0

    @classmethod
    def for_stream(cls, stream: TextIO, *, quiet: bool = False) -> ProgressLine | None:
        """A progress line on `stream` when it is a terminal and the run is not quiet; None otherwise."""
        if quiet:
            return None
        try:
            terminal = stream.isatty()
        except (AttributeError, ValueError):  # a replaced or closed stream
            return None
        return cls(stream) if terminal else None

    def response(self, host: str, size: int) -> None:
        with self._lock:
            self._responses += 1
            self._bytes += size
            self._draw()

    def counted(self, check_id: str, outcomes: int) -> None:
        with self._lock:
            self._check = (check_id, outcomes)
            self._draw()

    def audited(self, done: int, total: int) -> None:
        with self._lock:
            self._targets = (done, total)
            self._draw()

    def close(self) -> None:
        """Erase the line (the report is printed where it was)."""
        with self._lock:
            if self._drawn:
                self._write("\r" + " " * self._drawn + "\r")
                self._drawn = 0

    def _draw(self) -> None:
        now = time.monotonic()
        if now - self._last < self._interval:
            return
        self._last = now
        plural = "" if self._responses == 1 else "s"
        text = f"xtcheck: {self._responses:,} response{plural} read ({self._bytes / 1e6:.1f} MB)"
        if self._targets is not None:
            text += f" · {self._targets[0]:,} of {self._targets[1]:,} targets audited"
        if self._check is not None:
            text += f" · {self._check[0]} {self._check[1]:,} evaluated"
        self._write("\r" + text.ljust(self._drawn))
        self._drawn = max(self._drawn, len(text))

    def _write(self, text: str) -> None:
        try:
            self._stream.write(text)
            self._stream.flush()
        except (OSError, ValueError):  # the terminal went away: progress is not worth failing the run for
            pass
