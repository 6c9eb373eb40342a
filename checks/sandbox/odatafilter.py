"""The $filter parser: tokens to an evaluable tree (or < and < comparison < not < primary), compiled to predicates."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .odatalexer import Token, tokenize
from .odatasyntax import ODataError, syntax_error
from .odatavalues import COMPARISONS, FUNCTIONS, Function, and_values, compare, or_values

__all__ = ["Getter", "Predicate", "Resolver", "check_filter", "compile_filter", "filter_properties"]

Predicate = Callable[[Mapping[str, Any]], bool]
_Eval = Callable[[Mapping[str, Any]], Any]
Getter = Callable[[Mapping[str, Any]], Any]
# How a service reads a property, or a path through navigation properties (`nav/property`), from one row.
Resolver = Callable[[str], Getter]


@dataclass(frozen=True)
class _Node:
    run: _Eval
    kind: str  # bool, value (a property: type unknown), string, number, guid, datetime, null
    pos: int


_NON_BOOLEAN = frozenset({"string", "number", "guid", "datetime", "null"})
_KEYWORDS = frozenset({"and", "or", "not", *COMPARISONS})
_CONSTANTS: dict[str, tuple[Any, str]] = {
    "true": (True, "bool"),
    "false": (False, "bool"),
    "null": (None, "null"),
}


def _constant(value: Any, kind: str, pos: int) -> _Node:
    return _Node(lambda row: value, kind, pos)


def _property(name: str, pos: int, resolve: Resolver | None) -> _Node:
    if resolve is not None:
        return _Node(resolve(name), "value", pos)
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
    return _Node(lambda row: compare(op, left_run(row), right_run(row), case_insensitive), "bool", left.pos)


def _call(function: Function, args: list[_Node], case_insensitive: bool, pos: int) -> _Node:
    runs = [arg.run for arg in args]
    impl = function.impl
    return _Node(lambda row: impl([run(row) for run in runs], case_insensitive), function.kind, pos)


class _Parser:
    """Recursive-descent parser turning $filter text into an evaluable node tree."""

    def __init__(self, text: str, option: str, base: int, case_insensitive: bool, *, paths: bool = False,
                 resolve: Resolver | None = None) -> None:
        self._tokens = tokenize(text, option, base, paths=paths)
        self._index = 0
        self._option = option
        self._case_insensitive = case_insensitive
        self._resolve = resolve
        self.properties: list[str] = []  # every property name the expression reads, in order

    def parse(self) -> _Node:
        node = self._boolean(self._or())
        token = self._peek()
        if token.kind != "eof":
            raise self._unexpected(token, "'and', 'or' or end of input")
        return node

    def _peek(self) -> Token:
        return self._tokens[self._index]

    def _advance(self) -> Token:
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
        return syntax_error(self._option, pos, detail)

    def _unexpected(self, token: Token, expected: str) -> ODataError:
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
            left = _logical(or_values, self._boolean(left), self._boolean(self._and()))
        return left

    def _and(self) -> _Node:
        left = self._compare()
        while self._accept_keyword("and"):
            left = _logical(and_values, self._boolean(left), self._boolean(self._compare()))
        return left

    def _compare(self) -> _Node:
        left = self._unary()
        while (token := self._peek()).kind == "ident" and token.text in COMPARISONS:
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

    def _identifier(self, token: Token) -> _Node:
        if token.text in _CONSTANTS:
            value, kind = _CONSTANTS[token.text]
            return _constant(value, kind, token.pos)
        if self._peek().kind == "lparen":
            return self._function(token)
        self.properties.append(token.text)
        return _property(token.text, token.pos, self._resolve)

    def _function(self, name: Token) -> _Node:
        function = FUNCTIONS.get(name.text)
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


def _parse_filter(text: str, option: str, base: int, case_insensitive: bool,
                  resolve: Resolver | None = None) -> _Node:
    return _Parser(text, option, base, case_insensitive, paths=resolve is not None, resolve=resolve).parse()


def check_filter(text: str, option: str, base: int) -> None:
    """Raise ODataError when a $filter nested in `option` at position `base` (a $expand's) does not parse."""
    _parse_filter(text, option, base, case_insensitive=False)


def filter_properties(text: str, *, paths: bool = False) -> list[str]:
    """The property names a $filter reads (so a service can refuse unknown ones), with `paths` also paths like
    `nav/property`; raises ODataError."""
    parser = _Parser(text, "$filter", 0, False, paths=paths)
    parser.parse()
    return parser.properties


def compile_filter(text: str, *, case_insensitive: bool = False, resolve: Resolver | None = None) -> Predicate:
    """Compile a $filter expression into a predicate over rows; raises ODataError when it does not parse. With
    `resolve`, property paths through navigation properties are allowed, and every property is read through it."""
    run = _parse_filter(text, "$filter", 0, case_insensitive, resolve).run

    def predicate(row: Mapping[str, Any]) -> bool:
        return run(row) is True

    return predicate
