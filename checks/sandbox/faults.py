"""Misbehaviour on demand: the fault kinds, a Fault that matches requests, and the FaultBook that hands them out."""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass

FAULT_KINDS = ("latency", "throttle", "status", "gateway", "malformed", "drop", "stall")


@dataclass
class Fault:
    """Misbehaviour injected on matching requests, `count` times (None: every time)."""

    kind: str
    service: str | None = None
    path: str = ""  # a regular expression searched in the request target
    method: str | None = None
    body: str = ""  # a regular expression searched in the request body: one client's sign-in among many
    count: int | None = 1
    status: int = 503
    retry_after: int | None = None
    delay: float = 0.0  # seconds, for latency and stall
    standing: bool = False  # latency only: delays every matching request, on top of any other fault, never used up

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; use one of {', '.join(FAULT_KINDS)}")
        if self.standing and self.kind != "latency":
            raise ValueError("only a latency fault can be standing (applied to every matching request)")

    def matches(self, service: str, method: str, target: str, body: bytes) -> bool:
        return (
            (self.service is None or self.service == service)
            and (self.method is None or self.method.upper() == method)
            and re.search(self.path, target) is not None
            and (not self.body or re.search(self.body, body.decode("utf-8", "replace")) is not None)
        )


class FaultBook:
    """Faults waiting to fire; thread-safe, first match wins, each use counts down."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._lock = threading.Lock()

    def add(self, fault: Fault) -> Fault:
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def take(self, service: str, method: str, target: str, body: bytes) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if not fault.standing and fault.matches(service, method, target, body):
                    if fault.count is not None:
                        fault.count -= 1
                        if fault.count <= 0:
                            self._faults.remove(fault)
                    return fault
        return None

    def standing_delay(self, service: str, method: str, target: str, body: bytes) -> float:
        """Seconds of standing latency for this request: every matching standing fault, added up."""
        with self._lock:
            return sum(f.delay for f in self._faults if f.standing and f.matches(service, method, target, body))

