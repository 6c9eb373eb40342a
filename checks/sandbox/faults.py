"""Misbehaviour on demand: the fault kinds, a Fault that matches requests, and the FaultBook that hands them out.

The first kinds are what a healthy cloud does on a bad day (latency, throttling, 5xx, an HTML gateway page, cut
JSON, a dropped connection, a stalled body). The rest are what a hostile server, or something posing as one in
between, does: a redirect whose body looks like data, a 204 or an HTML label on a real answer, an error that echoes
the request's secret and token (or any text: escape sequences, line breaks), a reply of its choosing, a body without
end, a next link back to the same page, and an answer sent one byte at a time."""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from typing import Any

FAULT_KINDS = ("latency", "throttle", "status", "gateway", "malformed", "drop", "stall",
               "redirect", "empty", "content-type", "echo", "reply", "endless", "self-link", "drip")
# The status a kind answers with when the fault names none.
_DEFAULT_STATUS = {"status": 503, "redirect": 302, "echo": 401, "reply": 200}
ECHO_TEXT = "AADSTS7000215: Invalid client secret provided: '{secret}'. The request carried '{authorization}'."


@dataclass
class Fault:
    """Misbehaviour injected on matching requests, `count` times (None: every time)."""

    kind: str
    service: str | None = None
    path: str = ""  # a regular expression searched in the request target
    method: str | None = None
    body: str = ""  # a regular expression searched in the request body: one client's sign-in among many
    count: int | None = 1
    status: int | None = None  # status, redirect, echo, reply: the status answered (None: the kind's own)
    retry_after: int | None = None
    delay: float = 0.0  # seconds, for latency and stall; for drip, between two bytes
    standing: bool = False  # latency only: delays every matching request, on top of any other fault, never used up
    payload: Any = None  # redirect and reply: the JSON body (a redirect's default: an empty collection)
    content_type: str = "text/html; charset=utf-8"  # content-type: the label put on the real answer
    text: str = ECHO_TEXT  # echo: the error message; {secret} and {authorization} become what the request carried

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; use one of {', '.join(FAULT_KINDS)}")
        if self.standing and self.kind != "latency":
            raise ValueError("only a latency fault can be standing (applied to every matching request)")

    @property
    def answer_status(self) -> int:
        return self.status if self.status is not None else _DEFAULT_STATUS.get(self.kind, 503)

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
