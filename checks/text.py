"""Tenant data as every report may show it: names, messages and alert texts come from tenants and may hold
control characters. `visible` writes them as escapes people can read (ESC as `\\x1b`), so no value can recolour a
terminal, move its cursor, reorder a line (bidirectional overrides), break an XML document or fail to encode."""

from __future__ import annotations

import re

# C0 controls but tab and newline, DEL, C1 controls, line and paragraph separators, bidirectional embeddings,
# overrides and isolates, and lone surrogates (which no UTF-8 file or terminal can take).
_HIDDEN = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
# The same and a line break: what may not reach a console line from outside (it would start a line of its own: a
# forged verdict, or a GitHub Actions workflow command such as "::error::").
_LINE_HIDDEN = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
# What JSON leaves raw with ensure_ascii=False (it always escapes C0 controls itself).
_JSON_HIDDEN = re.compile("[\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def visible(text: str) -> str:
    """`text` with every hidden character written as its Python escape: "\\x1b", "\\r", "\\u202e"."""
    return _HIDDEN.sub(lambda match: repr(match.group())[1:-1], text)


def visible_line(text: str) -> str:
    """`text` as one line of a console: every hidden character written as its escape (`visible`), line breaks too
    ("\\n"). Whatever a tenant or a server wrote, it cannot start a line of its own."""
    return _LINE_HIDDEN.sub(lambda match: repr(match.group())[1:-1], text)


def json_visible(document: str) -> str:
    """A JSON document (from json.dumps with ensure_ascii=False) with the hidden characters it left raw written as
    \\uXXXX escapes: the same data once parsed, but safe to print and always encodable as UTF-8."""
    return _JSON_HIDDEN.sub(lambda match: f"\\u{ord(match.group()):04x}", document)


def one_line(text: str) -> str:
    """`text` on one line: a line break written as `\\n`, so a value in a list of one per line cannot pass for two."""
    return text.replace("\n", "\\n") if "\n" in text else text


LONGEST = 20_000  # characters of one value from outside a report keeps; the rest is cut and said to be


def clip(text: str, limit: int = LONGEST) -> str:
    """`text`, or its first `limit` characters marked with how much was cut: "…[truncated 300.0 MB]". A display
    name of 300 MB is a server's attack, not a name: it must not be copied into every report."""
    if len(text) <= limit:
        return text
    cut = len(text) - limit
    return f"{text[:limit]}…[truncated {_size(cut)}]"


def _size(characters: int) -> str:
    if characters >= 1_000_000:
        return f"{characters / 1_000_000:.1f} MB"
    if characters >= 1_000:
        return f"{characters / 1_000:.1f} kB"
    return f"{characters} character{'' if characters == 1 else 's'}"


_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]{0,63}")


def looks_like_a_name(text: str) -> bool:
    """Whether `text` has the shape of a key or an environment variable name (`enviroment_url`, `XT_READER_SECRET`)
    rather than of a secret: letters, digits, `_` and `-`, and not upper and lower case letters mixed with digits as
    generated secrets are. Only such names are ever repeated in a message."""
    if not _NAME.fullmatch(text):
        return False
    return not (re.search("[a-z]", text) and re.search("[A-Z]", text) and re.search("[0-9]", text))
