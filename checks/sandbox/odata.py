"""OData query options ($filter, $select, $orderby, $expand) parsed and evaluated over plain dict rows."""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

__all__ = [
    "ExpandItem",
    "ODataError",
    "Predicate",
    "compile_filter",
    "parse_expand",
    "parse_orderby",
    "parse_select",
    "sort_rows",
]

Predicate = Callable[[Mapping[str, Any]], bool]
_Eval = Callable[[Mapping[str, Any]], Any]


class ODataError(ValueError):
    """A query option that cannot be parsed; the message names the option and the 0-based position."""

    def __init__(self, message: str, *, option: str | None = None, position: int | None = None) -> None:
        super().__init__(message)
        self.option = option
        self.position = position


def _syntax_error(option: str, position: int, detail: str) -> ODataError:
    message = f"Syntax error at position {position} in {option}: {detail}"
    return ODataError(message, option=option, position=position)


# ---------------------------------------------------------------------------------------------------------
# Values and comparison semantics


@dataclass(frozen=True)
class _Guid:
    """A bare GUID literal from a $filter; compares case-insensitively with strings."""

    value: str


_ISO_PREFIX = re.compile(r"\d{4}-\d{2}-\d{2}")


def _parse_instant(text: str) -> datetime | None:
    """Parse an ISO-8601 date or date-time; a missing offset means UTC."""
    if not _ISO_PREFIX.match(text):
        return None
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _as_guid(value: Any) -> str | None:
    if isinstance(value, _Guid):
        return value.value
    return value.lower() if isinstance(value, str) else None


def _as_instant(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    return _parse_instant(value) if isinstance(value, str) else None


def _as_text(value: Any) -> str | None:
    if isinstance(value, _Guid):
        return value.value
    return value if isinstance(value, str) else None


def _scalar_kind(value: Any) -> str | None:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    return "str" if isinstance(value, str) else None


def _both(left: Any, right: Any) -> tuple[Any, Any] | None:
    return None if left is None or right is None else (left, right)


def _coerce(left: Any, right: Any, case_insensitive: bool) -> tuple[Any, Any] | None:
    """Bring two non-null operands to comparable values, or None when their types are incompatible."""
    if isinstance(left, _Guid) or isinstance(right, _Guid):
        return _both(_as_guid(left), _as_guid(right))
    if isinstance(left, datetime) or isinstance(right, datetime):
        return _both(_as_instant(left), _as_instant(right))
    if isinstance(left, str) and isinstance(right, str) and case_insensitive:
        return left.lower(), right.lower()
    kind = _scalar_kind(left)
    return (left, right) if kind is not None and kind == _scalar_kind(right) else None


_COMPARISONS: dict[str, Callable[[Any, Any], Any]] = {
    "eq": operator.eq,
    "ne": operator.ne,
    "gt": operator.gt,
    "ge": operator.ge,
    "lt": operator.lt,
    "le": operator.le,
}


def _compare(op: str, left: Any, right: Any, case_insensitive: bool) -> bool:
    if left is None or right is None:
        both_null = left is None and right is None
        return {"eq": both_null, "ne": not both_null}.get(op, False)
    pair = _coerce(left, right, case_insensitive)
    return pair is not None and bool(_COMPARISONS[op](*pair))


def _and_values(left: Any, right: Any) -> bool | None:
    if left is False or right is False:
        return False
    return True if left is True and right is True else None


def _or_values(left: Any, right: Any) -> bool | None:
    if left is True or right is True:
        return True
    return False if left is False and right is False else None


# ---------------------------------------------------------------------------------------------------------
# Functions


_FunctionImpl = Callable[[list[Any], bool], Any]


def _text_test(test: Callable[[str, str], bool]) -> _FunctionImpl:
    def run(values: list[Any], case_insensitive: bool) -> bool | None:
        subject, pattern = _as_text(values[0]), _as_text(values[1])
        if subject is None or pattern is None:
            return None
        if case_insensitive:
            subject, pattern = subject.lower(), pattern.lower()
        return test(subject, pattern)

    return run


def _text_map(transform: Callable[[str], str]) -> _FunctionImpl:
    def run(values: list[Any], case_insensitive: bool) -> str | None:
        text = _as_text(values[0])
        return None if text is None else transform(text)

    return run


@dataclass(frozen=True)
class _Function:
    arity: int
    kind: str
    impl: _FunctionImpl


_FUNCTIONS: dict[str, _Function] = {
    "contains": _Function(2, "bool", _text_test(lambda subject, pattern: pattern in subject)),
    "startswith": _Function(2, "bool", _text_test(str.startswith)),
    "endswith": _Function(2, "bool", _text_test(str.endswith)),
    "tolower": _Function(1, "string", _text_map(str.lower)),
    "toupper": _Function(1, "string", _text_map(str.upper)),
}


# ---------------------------------------------------------------------------------------------------------
# $filter lexer


@dataclass(frozen=True)
class _Token:
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
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_STRING = re.compile(r"'((?:[^']|'')*)'")
_SPACE = re.compile(r"\s+")
_WORD = re.compile(r"[^\s(),]+")
_PUNCTUATION = {"(": "lparen", ")": "rparen", ",": "comma"}


def _tokenize(text: str, option: str, base: int) -> list[_Token]:
    tokens: list[_Token] = []
    pos = 0
    while True:
        space = _SPACE.match(text, pos)
        if space is not None:
            pos = space.end()
        if pos >= len(text):
            tokens.append(_Token("eof", "", base + pos))
            return tokens
        token = _next_token(text, pos, option, base)
        tokens.append(token)
        pos += len(token.text)


def _next_token(text: str, pos: int, option: str, base: int) -> _Token:
    char, where = text[pos], base + pos
    if char in _PUNCTUATION:
        return _Token(_PUNCTUATION[char], char, where)
    if char == "'":
        return _string_token(text, pos, option, base)
    for kind, pattern in _LITERALS:
        match = pattern.match(text, pos)
        if match is not None:
            return _literal_token(kind, match.group(), where, option)
    ident = _IDENT.match(text, pos)
    if ident is not None:
        return _Token("ident", ident.group(), where)
    if char.isdigit() or char == "-":
        word = _WORD.match(text, pos)
        raise _syntax_error(option, where, f"invalid literal {word.group() if word else char!r}")
    raise _syntax_error(option, where, f"unexpected character {char!r}")


def _string_token(text: str, pos: int, option: str, base: int) -> _Token:
    match = _STRING.match(text, pos)
    if match is None:
        raise _syntax_error(option, base + pos, "unterminated string literal")
    return _Token("string", match.group(), base + pos, match.group(1).replace("''", "'"))


def _literal_token(kind: str, raw: str, where: int, option: str) -> _Token:
    if kind == "guid":
        return _Token(kind, raw, where, _Guid(raw.lower()))
    if kind == "datetime":
        instant = _parse_instant(raw)
        if instant is None:
            raise _syntax_error(option, where, f"invalid date/time literal {raw!r}")
        return _Token(kind, raw, where, instant)
    is_integer = raw.lstrip("-").isdigit()
    return _Token(kind, raw, where, int(raw) if is_integer else float(raw))


# ---------------------------------------------------------------------------------------------------------
# $filter parser: or < and < comparison < not < primary


@dataclass(frozen=True)
class _Node:
    run: _Eval
    kind: str  # bool, value (a property: type unknown), string, number, guid, datetime, null
    pos: int


_NON_BOOLEAN = frozenset({"string", "number", "guid", "datetime", "null"})
_KEYWORDS = frozenset({"and", "or", "not", *_COMPARISONS})
_CONSTANTS: dict[str, tuple[Any, str]] = {
    "true": (True, "bool"),
    "false": (False, "bool"),
    "null": (None, "null"),
}


def _constant(value: Any, kind: str, pos: int) -> _Node:
    return _Node(lambda row: value, kind, pos)


def _property(name: str, pos: int) -> _Node:
    return _Node(lambda row: row.get(name), "value", pos)


def _logical(combine: Callable[[Any, Any], bool | None], left: _Node, right: _Node) -> _Node:
    left_run, right_run = left.run, right.run
    return _Node(lambda row: combine(left_run(row), right_run(row)), "bool", left.pos)


def _negation(operand: _Node, pos: int) -> _Node:
    run = operand.run

    def negate(row: Mapping[str, Any]) -> bool | None:
        value = run(row)
        return (not value) if isinstance(value, bool) else None

    return _Node(negate, "bool", pos)


def _comparison(op: str, left: _Node, right: _Node, case_insensitive: bool) -> _Node:
    left_run, right_run = left.run, right.run
    return _Node(lambda row: _compare(op, left_run(row), right_run(row), case_insensitive), "bool", left.pos)


def _call(function: _Function, args: list[_Node], case_insensitive: bool, pos: int) -> _Node:
    runs = [arg.run for arg in args]
    impl = function.impl
    return _Node(lambda row: impl([run(row) for run in runs], case_insensitive), function.kind, pos)


class _Parser:
    """Recursive-descent parser turning $filter text into an evaluable node tree."""

    def __init__(self, text: str, option: str, base: int, case_insensitive: bool) -> None:
        self._tokens = _tokenize(text, option, base)
        self._index = 0
        self._option = option
        self._case_insensitive = case_insensitive
        self.properties: list[str] = []  # every property name the expression reads, in order

    def parse(self) -> _Node:
        node = self._boolean(self._or())
        token = self._peek()
        if token.kind != "eof":
            raise self._unexpected(token, "'and', 'or' or end of input")
        return node

    def _peek(self) -> _Token:
        return self._tokens[self._index]

    def _advance(self) -> _Token:
        token = self._tokens[self._index]
        self._index = min(self._index + 1, len(self._tokens) - 1)
        return token

    def _accept_keyword(self, keyword: str) -> bool:
        token = self._peek()
        if token.kind == "ident" and token.text == keyword:
            self._advance()
            return True
        return False

    def _expect_close(self) -> None:
        token = self._advance()
        if token.kind != "rparen":
            raise self._unexpected(token, "')'")

    def _error(self, pos: int, detail: str) -> ODataError:
        return _syntax_error(self._option, pos, detail)

    def _unexpected(self, token: _Token, expected: str) -> ODataError:
        if token.kind == "ident" and token.text not in _KEYWORDS and token.text not in _CONSTANTS:
            return self._error(token.pos, f"unknown operator {token.text!r}")
        return self._error(token.pos, f"expected {expected} but found {token.describe()}")

    def _boolean(self, node: _Node) -> _Node:
        if node.kind in _NON_BOOLEAN:
            raise self._error(node.pos, f"expected a boolean expression but found a {node.kind} value")
        return node

    def _or(self) -> _Node:
        left = self._and()
        while self._accept_keyword("or"):
            left = _logical(_or_values, self._boolean(left), self._boolean(self._and()))
        return left

    def _and(self) -> _Node:
        left = self._compare()
        while self._accept_keyword("and"):
            left = _logical(_and_values, self._boolean(left), self._boolean(self._compare()))
        return left

    def _compare(self) -> _Node:
        left = self._unary()
        while (token := self._peek()).kind == "ident" and token.text in _COMPARISONS:
            self._advance()
            left = _comparison(token.text, left, self._unary(), self._case_insensitive)
        return left

    def _unary(self) -> _Node:
        token = self._peek()
        if token.kind == "ident" and token.text == "not":
            self._advance()
            return _negation(self._boolean(self._unary()), token.pos)
        return self._primary()

    def _primary(self) -> _Node:
        token = self._advance()
        if token.kind == "lparen":
            inner = self._or()
            self._expect_close()
            return _Node(inner.run, inner.kind, token.pos)
        if token.kind in ("string", "guid", "datetime", "number"):
            return _constant(token.value, token.kind, token.pos)
        if token.kind == "ident" and token.text not in _KEYWORDS:
            return self._identifier(token)
        raise self._error(token.pos, f"expected an operand but found {token.describe()}")

    def _identifier(self, token: _Token) -> _Node:
        if token.text in _CONSTANTS:
            value, kind = _CONSTANTS[token.text]
            return _constant(value, kind, token.pos)
        if self._peek().kind == "lparen":
            return self._function(token)
        self.properties.append(token.text)
        return _property(token.text, token.pos)

    def _function(self, name: _Token) -> _Node:
        function = _FUNCTIONS.get(name.text)
        if function is None:
            raise self._error(name.pos, f"unknown function {name.text!r}")
        self._advance()
        args = [self._or()]
        while self._peek().kind == "comma":
            self._advance()
            args.append(self._or())
        self._expect_close()
        if len(args) != function.arity:
            detail = f"function {name.text!r} takes {function.arity} argument(s) but got {len(args)}"
            raise self._error(name.pos, detail)
        return _call(function, args, self._case_insensitive, name.pos)


def _parse_filter(text: str, option: str, base: int, case_insensitive: bool) -> _Node:
    return _Parser(text, option, base, case_insensitive).parse()


def filter_properties(text: str) -> list[str]:
    """The property names a $filter reads (so a service can refuse unknown ones); raises ODataError."""
    parser = _Parser(text, "$filter", 0, False)
    parser.parse()
    return parser.properties


def compile_filter(text: str, *, case_insensitive: bool = False) -> Predicate:
    """Compile a $filter expression into a predicate over rows; raises ODataError when it does not parse."""
    run = _parse_filter(text, "$filter", 0, case_insensitive).run

    def predicate(row: Mapping[str, Any]) -> bool:
        return run(row) is True

    return predicate


# ---------------------------------------------------------------------------------------------------------
# $select, $orderby, sorting


def _item(text: str, start: int, end: int, base: int) -> tuple[int, str]:
    segment = text[start:end]
    lead = len(segment) - len(segment.lstrip())
    return base + start + lead, segment.strip()


def _split_items(text: str, separator: str, option: str, base: int) -> list[tuple[int, str]]:
    """Split on separators outside parentheses and quotes; yields (absolute position, stripped item)."""
    items: list[tuple[int, str]] = []
    depth, start, quote_at = 0, 0, -1
    for index, char in enumerate(text):
        if char == "'":
            quote_at = index if quote_at < 0 else -1
        elif quote_at >= 0:
            continue
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth < 0:
                raise _syntax_error(option, base + index, "unbalanced ')'")
        elif char == separator and depth == 0:
            items.append(_item(text, start, index, base))
            start = index + 1
    if quote_at >= 0:
        raise _syntax_error(option, base + quote_at, "unterminated string literal")
    if depth:
        raise _syntax_error(option, base + len(text), "expected ')' but found end of input")
    items.append(_item(text, start, len(text), base))
    return items


def _parse_select(text: str, option: str, base: int) -> list[str]:
    names: list[str] = []
    for pos, name in _split_items(text, ",", option, base):
        if name != "*" and _IDENT.fullmatch(name) is None:
            found = repr(name) if name else "an empty item"
            raise _syntax_error(option, pos, f"expected a property name but found {found}")
        names.append(name)
    return names


def parse_select(text: str) -> list[str]:
    """Parse $select into property names ("a,b , c" -> ["a", "b", "c"]); '*' is kept as is."""
    return _parse_select(text, "$select", 0)


def _parse_orderby(text: str, option: str, base: int) -> list[tuple[str, bool]]:
    order: list[tuple[str, bool]] = []
    for pos, item in _split_items(text, ",", option, base):
        parts = item.split()
        valid = 1 <= len(parts) <= 2 and _IDENT.fullmatch(parts[0]) is not None
        if not valid or parts[1:] not in ([], ["asc"], ["desc"]):
            found = repr(item) if item else "an empty item"
            raise _syntax_error(option, pos, f"expected 'property [asc|desc]' but found {found}")
        order.append((parts[0], parts[1:] == ["desc"]))
    return order


def parse_orderby(text: str) -> list[tuple[str, bool]]:
    """Parse $orderby into (property, descending) pairs."""
    return _parse_orderby(text, "$orderby", 0)


def _sort_key(value: Any, case_insensitive: bool) -> tuple[int, str, Any]:
    if value is None:
        return (0, "", 0)
    kind = _scalar_kind(value)
    if kind is None:
        return (1, type(value).__name__, repr(value))
    if case_insensitive and isinstance(value, str):
        value = value.lower()
    return (1, kind, value)


def _key_for(name: str, case_insensitive: bool) -> Callable[[Mapping[str, Any]], tuple[int, str, Any]]:
    return lambda row: _sort_key(row.get(name), case_insensitive)


def sort_rows(
    rows: Sequence[Mapping[str, Any]], order: list[tuple[str, bool]], *, case_insensitive: bool = False
) -> list[Mapping[str, Any]]:
    """Stable multi-key sort; None sorts first ascending and last descending; mixed types never raise."""
    result = list(rows)
    for name, descending in reversed(order):
        result.sort(key=_key_for(name, case_insensitive), reverse=descending)
    return result


# ---------------------------------------------------------------------------------------------------------
# $expand


@dataclass(frozen=True)
class ExpandItem:
    """One navigation property of $expand with its nested query options (raw text for filter/orderby)."""

    name: str
    select: list[str] | None
    filter: str | None
    orderby: str | None
    top: int | None


_EXPAND_ITEM = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)\s*(?:\((.*)\))?", re.DOTALL)
_EXPAND_OPTION = re.compile(r"(\$?[A-Za-z]+)\s*=\s*(.*)", re.DOTALL)
_EXPAND_OPTIONS = ("$select", "$filter", "$orderby", "$top")
_Options = dict[str, tuple[int, str]]


def _expand_options(inner: str, base: int) -> _Options:
    options: _Options = {}
    for pos, part in _split_items(inner, ";", "$expand", base):
        match = _EXPAND_OPTION.fullmatch(part)
        if match is None:
            raise _syntax_error("$expand", pos, f"expected '$option=value' but found {part!r}")
        name = match.group(1)
        if name not in _EXPAND_OPTIONS:
            raise _syntax_error("$expand", pos, f"unknown option {name!r}; expected one of {_EXPAND_OPTIONS}")
        if name in options:
            raise _syntax_error("$expand", pos, f"option {name!r} given twice")
        options[name] = (pos + match.start(2), match.group(2))
    return options


def _parse_top(text: str, pos: int) -> int:
    if not re.fullmatch(r"\d+", text):
        raise _syntax_error("$expand", pos, f"$top must be a non-negative integer but found {text!r}")
    return int(text)


def _build_expand(name: str, options: _Options) -> ExpandItem:
    select: list[str] | None = None
    filter_text: str | None = None
    orderby: str | None = None
    top: int | None = None
    if "$select" in options:
        select = _parse_select(options["$select"][1], "$expand", options["$select"][0])
    if "$filter" in options:
        pos, filter_text = options["$filter"]
        _parse_filter(filter_text, "$expand", pos, case_insensitive=False)
    if "$orderby" in options:
        pos, orderby = options["$orderby"]
        _parse_orderby(orderby, "$expand", pos)
    if "$top" in options:
        top = _parse_top(options["$top"][1], options["$top"][0])
    return ExpandItem(name=name, select=select, filter=filter_text, orderby=orderby, top=top)


def _expand_item(pos: int, item: str) -> ExpandItem:
    match = _EXPAND_ITEM.fullmatch(item)
    if match is None:
        found = repr(item) if item else "an empty item"
        raise _syntax_error("$expand", pos, f"expected a navigation property but found {found}")
    inner = match.group(2)
    options = _expand_options(inner, pos + match.start(2)) if inner is not None else {}
    return _build_expand(match.group(1), options)


def parse_expand(text: str) -> list[ExpandItem]:
    """Parse $expand, e.g. "profile($select=name,id;$top=1),owninguser"; nested options are validated."""
    return [_expand_item(pos, item) for pos, item in _split_items(text, ",", "$expand", 0)]
