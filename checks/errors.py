"""xtcheck's exceptions, one small tree; each message tells the operator what to do.

    XtcheckError
    ├── ConfigError          the config file or a flag is wrong (exit 2)
    ├── InputError           an input file is not a regular file, too large, not UTF-8/UTF-16 text or nested too
    │                        deeply; callers name the file's role (config key, snapshot, report) around it (exit 2)
    ├── AuthError            a token could not be had; keeps the AADSTS code
    ├── ProbeError           a read failed; the checks that needed it become `error` findings
    │   ├── PermissionDenied the auditor's identity lacks a read permission (HTTP 403)
    │   ├── NotFound         the object is not there (HTTP 404); probes usually turn this into None
    │   └── Throttled        the service kept answering 429/503 past the retry budget
    └── WriteRefused         the read-only guard stopped a request before it left the process
"""

from __future__ import annotations

from .redact import redact
from .text import visible_line


class XtcheckError(Exception):
    """Base of every error xtcheck raises on purpose. Its message is made safe as it is made, because it often
    carries a server's or a file's words: secrets and tokens redacted (a server may echo one back; checks/redact.py),
    one line with every hidden character written visibly (printed, it cannot forge a line; checks/text.py)."""

    def __init__(self, *args: object) -> None:
        super().__init__(*(visible_line(redact(arg)) if isinstance(arg, str) else arg for arg in args))


class ConfigError(XtcheckError):
    """A configuration problem; `key` is the config path, e.g. `credentials[1].client_secret`."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"{key}: {problem}" if key else problem)
        self.key = key
        self.problem = visible_line(redact(problem))


class InputError(XtcheckError):
    """An input file that cannot be taken as the text or document it should be; the message names the file and
    says how to fix it, in one line."""


class AuthError(XtcheckError):
    """No token: `code` is the AADSTS number when Entra gave one."""

    def __init__(self, message: str, *, code: int | None = None, tenant: str = "", client_id: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.tenant = tenant
        self.client_id = client_id


class ProbeError(XtcheckError):
    """A read that failed; `status` is the HTTP status when there was one."""

    def __init__(self, message: str, *, status: int | None = None, code: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.code = code


class PermissionDenied(ProbeError):
    """HTTP 403: the auditor's identity lacks a permission."""


class NotFound(ProbeError):
    """HTTP 404."""


class Throttled(ProbeError):
    """Still throttled after the retry budget was spent."""


class WriteRefused(XtcheckError):
    """The read-only guard refused a request: xtcheck never writes to a tenant."""
