"""Text as literal Markdown: inline text, table cells, paragraphs and fenced code that no data can break out of."""

from __future__ import annotations

import re

from ..text import visible

_ESCAPED = frozenset("\\`*_[]<|~#")  # ">" matters only at the start of a block, "&" only before an entity name
_ENTITY = re.compile(r"&(?=#?[A-Za-z0-9]+;)")
URL = re.compile(r"https?://[^\s<>\"'`|\\]+")
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_BACKTICKS = re.compile(r"`+")
_BLOCK_START = re.compile(r"[-+=>]")  # a bullet, a rule, a setext underline, a quote ("*" and "#" are escaped)
_NUMBERED = re.compile(r"(\d{1,9})[.)]")  # "1. " or "1) " starts an ordered list


def inline(text: str) -> str:
    """`text` as literal inline Markdown: one line, punctuation escaped, URLs kept whole (still autolinked), hidden
    characters written visibly."""
    flat = visible(_LINE_BREAK.sub(" ", text))
    parts: list[str] = []
    at = 0
    for match in URL.finditer(flat):
        parts.append(_escape(flat[at:match.start()]))
        parts.append(match.group().replace("[", "%5B").replace("]", "%5D"))  # no link syntax can form in one
        at = match.end()
    parts.append(_escape(flat[at:]))
    return "".join(parts)


def cell(text: str) -> str:
    """`text` for a table cell: inline (a `|` is always escaped: URLs stop before one), never empty."""
    return inline(text) or " "


def paragraph(text: str) -> str:
    """`text` as a paragraph of its own: inline, and unable to start a list, a heading, a rule or a code block."""
    flat = inline(text).lstrip()
    if _BLOCK_START.match(flat):
        return f"\\{flat}"
    numbered = _NUMBERED.match(flat)
    return f"{numbered.group(1)}\\{flat[numbered.end(1):]}" if numbered else flat


def fence(content: str, info: str = "") -> str:
    """A fenced code block around `content`, longer than any run of backticks in it (at least three)."""
    body = visible(_LINE_BREAK.sub("\n", content))
    longest = max((len(run) for run in _BACKTICKS.findall(body)), default=0)
    ticks = "`" * max(3, longest + 1)
    return f"{ticks}{info}\n{body}\n{ticks}"


def _escape(text: str) -> str:
    escaped = "".join(f"\\{char}" if char in _ESCAPED else char for char in text)
    return _ENTITY.sub(r"\\&", escaped)
