"""The redacting filter on the libraries' loggers: every logger msal, httpx and httpcore log through carries it, and a
record is rewritten before the first handler (one on the very logger that created it) sees it. The end-to-end
proof against the sandbox is in test_secret_canary.py; these pin the shapes a secret takes on the way."""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import httpcore
import httpx
import msal
import pytest
from security_outputs import Records

from checks.redact import RedactingFilter, guard_library_logs, remember

TOKEN = "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9." + "eyJhdWQiOiJodHRwczovL2dyYXBoIn0" * 4 + ".c2lnbmF0dXJlLXNpZ25hdHVyZQ"
SECRET = "Xq8Q~s1dF3GhJ5kL7zX9cV2bN4mQ6wE8rT0yU1iO/+="


def logger_names_in_source(package: Path, root: str) -> set[str]:
    """Every logger the library's source asks for: getLogger(__name__) by module path, getLogger("name") by name."""
    names = set()
    for path in package.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        if "getLogger(__name__)" in text:
            parts = path.relative_to(package.parent).with_suffix("").parts
            names.add(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
        names.update(re.findall(rf"getLogger\([\"']({root}[\w.]*)[\"']\)", text))
    return names


@pytest.mark.parametrize("library", [msal, httpx, httpcore], ids=lambda m: m.__name__)
def test_every_logger_the_library_logs_through_redacts(library: ModuleType) -> None:
    guard_library_logs()
    names = logger_names_in_source(Path(str(library.__file__)).parent, library.__name__)
    assert names
    unguarded = [n for n in sorted(names)
                 if not any(isinstance(f, RedactingFilter) for f in logging.getLogger(n).filters)]
    assert unguarded == []


@contextlib.contextmanager
def handler_on(name: str) -> Iterator[Records]:
    """A handler on the logger that creates the record: the first handler Python calls."""
    guard_library_logs()
    logger = logging.getLogger(name)
    keep, level = Records(), logger.level
    logger.addHandler(keep)
    logger.setLevel(logging.DEBUG)
    try:
        yield keep
    finally:
        logger.removeHandler(keep)
        logger.setLevel(level)


def formatted(record: logging.LogRecord) -> str:
    return logging.Formatter("%(message)s").format(record)


@pytest.mark.parametrize(("message", "kept"), [
    (f'{{"token_type":"Bearer","expires_in":3599,"access_token":"{TOKEN[:60]}', '"access_token":"[redacted]"'),
    (f'{{"access_token": "{TOKEN}", "refresh_token": "0.AXoAopaque-refresh"}}', '"refresh_token": "[redacted]"'),
    (f"grant_type=client_credentials&client_id=abc&client_secret={SECRET}&scope=x", "client_id=abc&client_secret="),
    ("client_assertion_type=jwt-bearer&client_assertion=opaque-assertion-value-9", "client_assertion=[redacted]"),
    (f"{{'access_token': '{TOKEN}', 'expires_in': 3599}}", "'access_token': '[redacted]'"),
    (f"headers: Authorization: Bearer {TOKEN}", "Authorization: Bearer [redacted]"),
    ("Authorization: Basic NGQ1ZTZmNzA6c2VjcmV0LXZhbHVl", "Basic [redacted]"),
    (f"unexpected payload: {TOKEN}", "unexpected payload: [redacted]"),
])
def test_a_record_is_redacted_before_the_first_handler(message: str, kept: str) -> None:
    with handler_on("msal.managed_identity") as keep:
        logging.getLogger("msal.managed_identity").debug("IMDS emits unexpected payload: %s", message)
    [record] = keep.records
    text = formatted(record)
    assert kept in text
    assert "opaque" not in text and TOKEN[:20] not in text and SECRET[:12] not in text


def test_a_remembered_secret_is_redacted_as_it_is_and_as_it_is_sent() -> None:
    secret = "canary-remembered-7Qw~a/b+c="
    remember(secret)
    with handler_on("httpx") as keep:
        logging.getLogger("httpx").info("in the clear %s, url-encoded %s", secret, "canary-remembered-7Qw~a%2Fb%2Bc%3D")
    text = formatted(keep.records[0])
    assert text == "in the clear [redacted], url-encoded [redacted]"


def test_an_exception_is_kept_as_a_redacted_traceback_without_its_frames() -> None:
    with handler_on("msal.oauth2cli.oauth2") as keep:
        try:
            raise ValueError(f"cannot parse {{\"access_token\": \"{TOKEN}\"}}")
        except ValueError:
            logging.getLogger("msal.oauth2cli.oauth2").exception("Token response is not in json format: %s", TOKEN)
    [record] = keep.records
    assert record.exc_info is None  # a handler reading the frames' locals would find the token there
    text = formatted(record)
    assert "Traceback" in text and 'ValueError: cannot parse {"access_token": "[redacted]"}' in text
    assert TOKEN[:20] not in text


def test_a_record_without_secrets_is_left_as_it_was() -> None:
    with handler_on("httpx") as keep:
        logging.getLogger("httpx").info('HTTP Request: %s %s "%s %d %s"', "GET", "https://graph/v1.0/applications",
                                        "HTTP/1.1", 200, "OK")
    [record] = keep.records
    assert record.msg == 'HTTP Request: %s %s "%s %d %s"' and record.args == ("GET", "https://graph/v1.0/applications",
                                                                              "HTTP/1.1", 200, "OK")


def test_a_bad_format_string_does_not_raise_into_the_library() -> None:
    with handler_on("msal.token_cache") as keep:
        one_argument_short = "event=%s %s"
        logging.getLogger("msal.token_cache").debug(one_argument_short, f"client_secret={SECRET}")
    [record] = keep.records
    assert SECRET[:12] not in formatted(record)
