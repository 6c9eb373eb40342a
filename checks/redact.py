"""Secrets and tokens kept out of what msal, httpx and httpcore log, however the host program set up logging.

msal logs a token response it cannot parse with its full text (an access token among it) and a traceback; httpx and
httpcore log request lines and connection events. Python runs only the filters of the logger a record is created
on, then every handler up the tree: a filter on `msal` would never see a record of `msal.oauth2cli.oauth2`. So a
redacting filter goes on every logger these libraries log through, and it rewrites the record itself (message,
traceback, stack) before any handler anywhere sees it. Values the run knows to be secret are registered with
`remember` and redacted wherever they appear; tokens and credential fields are redacted by their shape.
"""

from __future__ import annotations

import json
import logging
import os
import pkgutil
import re
import sys
import threading
from urllib.parse import quote, quote_plus

REDACTED = "[redacted]"
LIBRARIES = ("msal", "httpx", "httpcore")
# Loggers these libraries name themselves rather than by module (httpcore's), or create only when a client is made.
_NAMED = ("msal.oauth2cli.oauth2", "httpcore.connection", "httpcore.http11", "httpcore.http2", "httpcore.proxy",
          "httpcore.socks")
_FIELDS = ("access_token|refresh_token|id_token|client_secret|client_assertion|assertion|password|device_code|"
           "user_federated_identity_credential")
_PATTERNS = (
    # a JSON field, its value cut short included (a truncated body): "access_token": "..."
    (re.compile(rf'("(?:{_FIELDS})"\s*:\s*")[^"]*"?'), rf'\g<1>{REDACTED}"'),
    # a form or query field: client_secret=...&
    (re.compile(rf"(?<![A-Za-z0-9_])((?:{_FIELDS})=)[^&\s\"']*"), rf"\g<1>{REDACTED}"),
    # a Python dict's repr: 'access_token': '...'
    (re.compile(rf"('(?:{_FIELDS})'\s*:\s*')[^']*'?"), rf"\g<1>{REDACTED}'"),
    # an Authorization header's credentials
    (re.compile(r"(?i)\b((?:Bearer|Basic)\s+)[A-Za-z0-9._~+/=-]{16,}"), rf"\g<1>{REDACTED}"),
    # a JWT or its first part (base64url of '{"'), however it is cut
    (re.compile(r"eyJ[A-Za-z0-9_-]{8,}(?:\.[A-Za-z0-9_-]*){0,2}"), REDACTED),
)
_MIN_SECRET = 4  # shorter "secrets" would redact ordinary words

_known: tuple[str, ...] = ()
_lock = threading.Lock()


def remember(value: str | None) -> None:
    """A value this run knows to be secret: redacted from every library log line from now on (as sent, too)."""
    global _known  # noqa: PLW0603  (one tuple swapped under a lock: readers never lock)
    if not value or len(value) < _MIN_SECRET:
        return
    forms = {value, quote_plus(value), quote(value, safe=""), json.dumps(value)[1:-1]}
    with _lock:
        _known = tuple(sorted(set(_known) | forms, key=len, reverse=True))


def redact(text: str) -> str:
    """The text with known secrets, tokens and credential fields replaced by [redacted]."""
    for value in _known:
        if value in text:
            text = text.replace(value, REDACTED)
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RedactingFilter(logging.Filter):
    """Rewrites a record before any handler sees it; never drops one. The exception itself is dropped (a handler
    that reads its frames would find the token in msal's locals): its traceback stays, redacted, as exc_text."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: the handler would report it; keep what is there, redacted
            message = f"{record.msg!r} {record.args!r}"
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, ()
        if record.exc_info:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        elif record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


_FILTER = RedactingFilter()


def guard_library_logs() -> None:
    """Put the redacting filter on every logger msal, httpx and httpcore log through (idempotent; call it before
    the libraries are used: loggers they create later by another name would not have it)."""
    for name in sorted(_logger_names()):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactingFilter) for f in logger.filters):
            logger.addFilter(_FILTER)


def _logger_names() -> set[str]:
    names = set(LIBRARIES) | set(_NAMED)
    names.update(n for n in logging.Logger.manager.loggerDict if n.split(".", 1)[0] in LIBRARIES)
    for library in LIBRARIES:  # every module's getLogger(__name__), the ones not imported yet included
        module = sys.modules.get(library)
        for path in getattr(module, "__path__", ()):
            names.update(_modules(path, library))
    return names


def _modules(path: str, prefix: str) -> set[str]:
    found = set()
    for info in pkgutil.iter_modules([path]):
        name = f"{prefix}.{info.name}"
        found.add(name)
        if info.ispkg:
            found.update(_modules(os.path.join(path, info.name), name))
    return found
