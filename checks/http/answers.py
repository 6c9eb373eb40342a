"""Which answers are data: a 200 with a JSON body. A redirect, an informational status, any other 2xx (a 204 where a
body is due) or a 200 labelled as something other than JSON is not, whatever its body says; and the error for an
answer xtcheck will not take."""

from __future__ import annotations

import httpx

from ..text import one_line, visible

_SHOWN_TYPE = 60  # characters of a foreign Content-Type kept in a message


class RejectedAnswer(httpx.TransportError):
    """An answer xtcheck will not take: a status or content type that is not data, a body over a size cap, an answer
    not whole by its deadline. The message says what and which setting changes it; never retried."""


def describe(request: httpx.Request) -> str:
    """`GET host/path` (no query: it may be long), for messages."""
    return f"{request.method} {request.url.netloc.decode()}{request.url.path}"


def is_json(content_type: str) -> bool:
    """`application/json`, with or without parameters (OData's `;odata.metadata=minimal`, a charset)."""
    return content_type.split(";", maxsplit=1)[0].strip().lower() == "application/json"


def not_data(response: httpx.Response) -> str | None:
    """Why an answer below 400 cannot be taken as data (None: it can), naming the status and the host: a phrase
    that follows the service's name ("Dataverse answered 302 Found to GET host/path: a redirect, ...")."""
    status = response.status_code
    where = describe(response.request)
    reason = httpx.codes.get_reason_phrase(status)  # the standard phrase: the server's own is its text, not ours
    if 300 <= status < 400:
        return (f"answered {status} {reason} to {where}: a redirect, which is never followed nor read as data (a "
                "proxy or gateway in between may be sending requests elsewhere)")
    if status != 200:
        return f"answered {status} {reason} to {where} where 200 with a JSON body is due"
    content_type = response.headers.get("content-type", "")
    if not is_json(content_type):
        shown = one_line(visible(content_type[:_SHOWN_TYPE])) or "none"
        return (f"answered {where} with Content-Type {shown}, not application/json (a proxy or gateway in between "
                "may have answered instead)")
    return None
