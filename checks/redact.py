"""Secrets and tokens kept out of everything xtcheck writes: findings, reports, the console, the evidence snapshot,
error messages, and what msal, httpx and httpcore log, however the host program set up logging.

One redactor: the values the run knows to be secret (`remember`: configured secrets in every form they travel in,
and any token that is not shaped like one), and whatever is shaped like a token, an Authorization header's
credentials or a credential field. Findings, errors and the snapshot pass through it where they are made
(`redact`, `redact_data`, `redact_all`); library log records through a filter (below).

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
from collections.abc import Mapping
from typing import Any
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
# What any of _PATTERNS needs to be present: substring tests (fast in C on text of any size, unlike a regular
# expression of alternatives) tell clean text, nearly all of it, from text to rewrite.
_MARKS = ("eyJ", *_FIELDS.split("|"))
_MARKS_ANY_CASE = ("bearer", "basic")
_MIN_SECRET = 4  # shorter "secrets" would redact ordinary words

_known: tuple[str, ...] = ()
_lock = threading.Lock()


def remember(value: str | None) -> None:
    """A value this run knows to be secret: redacted from everything written from now on, in every form it travels
    in (as typed, URL-encoded, JSON-escaped)."""
    global _known  # noqa: PLW0603  (one tuple swapped under a lock: readers never lock)
    if not value or len(value) < _MIN_SECRET:
        return
    forms = {value, quote_plus(value), quote(value, safe=""), json.dumps(value)[1:-1],
             json.dumps(value, ensure_ascii=False)[1:-1]}
    with _lock:
        _known = tuple(sorted(set(_known) | forms, key=len, reverse=True))  # the longest form first


def remember_token(token: str | None) -> None:
    """A token this run obtained: one shaped like a JWT is caught by its shape wherever it appears (so the list of
    remembered values stays short); any other is remembered as a secret."""
    if token and not _JWT.fullmatch(token):
        remember(token)


_JWT = re.compile(r"eyJ[A-Za-z0-9_-]{8,}(?:\.[A-Za-z0-9_-]*){0,2}")


def redact(text: str) -> str:
    """The text with known secrets, tokens and credential fields replaced by [redacted]."""
    for value in _known:
        if value in text:
            text = text.replace(value, REDACTED)
    if _marked(text):
        for shape, replacement in _PATTERNS:
            text = shape.sub(replacement, text)
    return text


def _marked(text: str) -> bool:
    if any(mark in text for mark in _MARKS):
        return True
    lowered = text.lower()
    return any(mark in lowered for mark in _MARKS_ANY_CASE)


def redact_data(value: Any) -> Any:
    """`value` with every string in it redacted, mapping keys included; containers are copied only when something
    in them changed."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, Mapping):
        items = [(redact_data(k), redact_data(v)) for k, v in value.items()]
        if all(k is k0 and v is v0 for (k, v), (k0, v0) in zip(items, value.items(), strict=True)):
            return value
        return dict(items)
    if isinstance(value, (list, tuple)):
        clean = [redact_data(v) for v in value]
        if all(a is b for a, b in zip(clean, value, strict=True)):
            return value
        return type(value)(clean) if isinstance(value, tuple) else clean
    return value


def redact_all(texts: list[str]) -> list[str]:
    """Many short strings (100,000 mailbox addresses) redacted in one pass over them together; only when that finds
    something is each looked at on its own. The same list when nothing changed."""
    if not texts:
        return texts
    joined = "\x00".join(texts)  # no secret, token or field holds a NUL: nothing matches across two of them
    if redact(joined) == joined:
        return texts
    return [redact(text) for text in texts]


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
