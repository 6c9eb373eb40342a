"""The $filter lexer: text to tokens (punctuation, strings, GUIDs, date-times, numbers, identifiers)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from .odatasyntax import IDENT, syntax_error
from .odatavalues import Guid, parse_instant


@dataclass(frozen=True)
class Token:
    """One lexeme of a $filter at its absolute position; `value` is a literal's parsed value."""

    kind: str  # lparen rparen comma string guid datetime number ident eof
    text: str
    pos: int
    value: Any = None

    def describe(self) -> str:
        return "end of input" if self.kind == "eof" else repr(self.text)


_END = r"(?=[\s(),]|$)"
_LITERALS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("guid", re.compile(r"[0-9A-Fa-f]{8}(?:-[0-9A-Fa-f]{4}){3}-[0-9A-Fa-f]{12}" + _END)),
    (
        "datetime",
        re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2})?" + _END),
    ),
    ("datetime", re.compile(r"\d{4}-\d{2}-\d{2}" + _END)),
    ("number", re.compile(r"-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?" + _END)),
)
_STRING = re.compile(r"'((?:[^']|'')*)'")
_SPACE = re.compile(r"\s+")
_WORD = re.compile(r"[^\s(),]+")
# A property path through single-valued navigation properties (`emailserverprofile/name`), where a service allows it.
_PATH = re.compile(IDENT.pattern + r"(?:/" + IDENT.pattern + r")*")
_PUNCTUATION = {"(": "lparen", ")": "rparen", ",": "comma"}


def tokenize(text: str, option: str, base: int, *, paths: bool = False) -> list[Token]:
    """The tokens of `text`; with `paths`, an identifier may be a path like `nav/property` (one token)."""
    tokens: list[Token] = []
    pos = 0
    while True:
        space = _SPACE.match(text, pos)
        if space is not None:
            pos = space.end()
        if pos >= len(text):
            tokens.append(Token("eof", "", base + pos))
            return tokens
        token = _next_token(text, pos, option, base, paths)
        tokens.append(token)
        pos += len(token.text)


def _next_token(text: str, pos: int, option: str, base: int, paths: bool) -> Token:
    char, where = text[pos], base + pos
    if char in _PUNCTUATION:
        return Token(_PUNCTUATION[char], char, where)
    if char == "'":
        return _string_token(text, pos, option, base)
    for kind, pattern in _LITERALS:
        match = pattern.match(text, pos)
        if match is not None:
            return _literal_token(kind, match.group(), where, option)
    ident = (_PATH if paths else IDENT).match(text, pos)
    if ident is not None:
        return Token("ident", ident.group(), where)
    if char.isdigit() or char == "-":
        word = _WORD.match(text, pos)
        raise syntax_error(option, where, f"invalid literal {word.group() if word else char!r}")
    raise syntax_error(option, where, f"unexpected character {char!r}")


def _string_token(text: str, pos: int, option: str, base: int) -> Token:
    match = _STRING.match(text, pos)
    if match is None:
        raise syntax_error(option, base + pos, "unterminated string literal")
    return Token("string", match.group(), base + pos, match.group(1).replace("''", "'"))


def _literal_token(kind: str, raw: str, where: int, option: str) -> Token:
    if kind == "guid":
        return Token(kind, raw, where, Guid(raw.lower()))
    if kind == "datetime":
        instant = parse_instant(raw)
        if instant is None:
            raise syntax_error(option, where, f"invalid date/time literal {raw!r}")
        return Token(kind, raw, where, instant)
    is_integer = raw.lstrip("-").isdigit()
    return Token(kind, raw, where, int(raw) if is_integer else float(raw))
