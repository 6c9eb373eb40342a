"""Retries for throttling and transient failures: Retry-After first, else exponential backoff with jitter."""

from __future__ import annotations

import datetime as dt
import email.utils
import random
import time
from dataclasses import dataclass

import httpx

from ..settings import HttpOptions
from .bounds import Bounds

RETRY_STATUSES = frozenset({429, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = HttpOptions.retries  # tries in all, the first included
    base_delay: float = 0.5  # seconds before the first retry when the server names no Retry-After
    max_delay: float = 8.0  # one wait never exceeds this
    budget: float = HttpOptions.retry_budget  # all waits of one request together never exceed this (Retry-After too)

    @classmethod
    def configured(cls, options: HttpOptions) -> RetryPolicy:
        """The policy the config asks for. A budget below the default shortens the backoff steps in proportion, so
        a small budget still leaves room for every attempt (a larger one leaves the steps as they are)."""
        scale = min(1.0, options.retry_budget / HttpOptions.retry_budget)
        return cls(options.retries, cls.base_delay * scale, cls.max_delay * scale, options.retry_budget)

    def backoff(self, attempt: int) -> float:
        """Full jitter: a random wait up to the exponential step (attempt 1 is the first retry)."""
        return random.uniform(0, min(self.max_delay, self.base_delay * 2 ** (attempt - 1)))  # noqa: S311


def retry_after(response: httpx.Response) -> float | None:
    """Seconds the server asks us to wait: delta-seconds or an HTTP date; None when absent or unreadable (a
    malformed header means "no advice", never a crash)."""
    text = (response.headers.get("Retry-After") or "").strip()
    if not text:
        return None
    if text.isascii() and text.isdigit():
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:  # HTTP dates are GMT; a date without a zone is read as UTC, not as local time
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, when.timestamp() - time.time())


def _untrusted_certificate(exc: httpx.TransportError) -> bool:
    """A certificate that fails verification fails the same way on every attempt: not worth a retry."""
    return "CERTIFICATE_VERIFY_FAILED" in str(exc)


class RetryTransport(httpx.BaseTransport):
    """Resends a request answered 429/503/504 or lost in transit, within the policy's attempts and budget and the
    request's deadline (`bounds`).

    "Lost in transit" includes an answer whose body stalls past the read timeout or is cut off mid-way: the body
    is read here, inside the retry loop and within the bounds, so such an answer is retried like a dropped
    connection, and one too large or too slow is refused (RejectedAnswer, never retried)."""

    def __init__(self, inner: httpx.BaseTransport, policy: RetryPolicy, bounds: Bounds) -> None:
        self._inner = inner
        self._policy = policy
        self._bounds = bounds

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        with self._bounds.request(request) as ends:
            return self._attempts(request, ends)

    def _attempts(self, request: httpx.Request, ends: float) -> httpx.Response:
        waited = 0.0
        for attempt in range(1, self._policy.attempts + 1):
            last = attempt == self._policy.attempts
            try:
                response = self._inner.handle_request(request)
                if response.status_code not in RETRY_STATUSES or last:
                    return self._bounds.read(response)
            except (httpx.ConnectError, httpx.ReadTimeout, httpx.RemoteProtocolError, httpx.ReadError) as exc:
                delay = self._policy.backoff(attempt)
                if last or self._out_of_time(waited, delay, ends) or _untrusted_certificate(exc):
                    raise
            else:
                named = retry_after(response)
                delay = named if named is not None else self._policy.backoff(attempt)
                if self._out_of_time(waited, delay, ends):  # the server asks for more patience than we have
                    return self._bounds.read(response)
                response.close()
            time.sleep(delay)
            waited += delay
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _out_of_time(self, waited: float, delay: float, ends: float) -> bool:
        """Whether waiting `delay` more would pass the retry budget or the request's deadline."""
        return waited + delay > self._policy.budget or time.monotonic() + delay >= ends

    def close(self) -> None:
        self._inner.close()
