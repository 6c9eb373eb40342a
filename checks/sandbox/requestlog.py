"""The request log: every request every service saw, and how many were served at once."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit


@dataclass(frozen=True)
class LogEntry:
    service: str
    method: str
    target: str
    status: int  # 0 when the connection was dropped without an answer
    duration_ms: float
    write: bool = False
    fault: str | None = None
    started: float = 0.0  # time.monotonic() when the request arrived: when each request left, seen from the server

    @property
    def path(self) -> str:
        return unquote(urlsplit(self.target).path)


class RequestLog:
    """Every request every service saw, in order; and how many were being served at once (per service, overall)."""

    def __init__(self) -> None:
        self._entries: list[LogEntry] = []
        self._lock = threading.Lock()
        self._in_flight: dict[str, int] = {}
        self._peak: dict[str, int] = {}
        self._peak_total = 0

    def enter(self, service: str) -> None:
        """A request started being served (its body read, its answer not yet sent)."""
        with self._lock:
            self._in_flight[service] = self._in_flight.get(service, 0) + 1
            self._peak[service] = max(self._peak.get(service, 0), self._in_flight[service])
            self._peak_total = max(self._peak_total, sum(self._in_flight.values()))

    def leave(self, service: str) -> None:
        with self._lock:
            self._in_flight[service] -= 1

    def max_in_flight(self, service: str | None = None) -> int:
        """The most requests served at the same time since the last clear: on one service, or on all together."""
        with self._lock:
            return self._peak_total if service is None else self._peak.get(service, 0)

    def add(self, entry: LogEntry) -> None:
        with self._lock:
            self._entries.append(entry)

    def entries(self, service: str | None = None) -> list[LogEntry]:
        with self._lock:
            return [e for e in self._entries if service is None or e.service == service]

    def writes(self) -> list[LogEntry]:
        return [e for e in self.entries() if e.write]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._peak = dict(self._in_flight)
            self._peak_total = sum(self._in_flight.values())

