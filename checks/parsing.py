"""YAML and JSON parsed as bounded data: nesting capped, what YAML aliases expand to capped, and values that cannot
be built said as YAML errors with their line, so no document can end a run in a RecursionError or an hour of
work. Every document xtcheck reads (config, waivers, organization config export, snapshot, report) is parsed here."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from itertools import chain, compress
from typing import Any

import yaml
from yaml.composer import ComposerError
from yaml.constructor import ConstructorError
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from .text import looks_like_a_name

# No file xtcheck reads nests deeper than about 15 levels; Python's parsers and validators recurse, and a document
# nested 100,000 deep would end them in a RecursionError.
MAX_DEPTH = 64
# What a YAML document's aliases may expand to, in nodes: a billion laughs is ten lines of aliases to aliases that a
# validator walking the data would visit 10^9 times. Documents without aliases are bounded by their size cap.
MAX_EXPANDED = 1_000_000
TOO_DEEP = f"nests lists and mappings more than {MAX_DEPTH} levels deep, which no xtcheck file does"


class TooDeep(ValueError):
    """A JSON document nested deeper than MAX_DEPTH."""


def load_json(text: str | bytes, *, unique_keys: bool = False) -> Any:
    """json.loads, refusing a document nested deeper than MAX_DEPTH (TooDeep) and, with `unique_keys` (the files
    people write: a config, waivers), an object that names a key twice (DuplicateKey). JSONDecodeError and ValueError
    (an integer too long to convert) propagate. Snapshots and reports are xtcheck's own writing, 40 MB of them at
    100,000 mailboxes: they skip the per-object check."""
    try:
        value = json.loads(text, object_pairs_hook=_once if unique_keys else None)
    except RecursionError:  # deeper than the C parser's own limit
        raise TooDeep(TOO_DEEP) from None
    if too_deep(value):
        raise TooDeep(TOO_DEEP)
    return value


class DuplicateKey(ValueError):
    """A JSON object that names one key twice."""


def _once(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object, each key named once (json's own default keeps the last and says nothing)."""
    found = dict(pairs)
    if len(found) != len(pairs):
        twice = next(key for n, (key, _) in enumerate(pairs) if any(key == k for k, _ in pairs[:n]))
        raise DuplicateKey(f"an object holds {f'the key {twice!r}' if looks_like_a_name(twice) else 'a key'} twice; "
                           "keep one")
    return found


_CONTAINER = frozenset((dict, list)).__contains__


def too_deep(value: Any, limit: int = MAX_DEPTH) -> bool:
    """Whether `value` nests lists and dicts more than `limit` levels deep. Level by level, the containers of the
    next level picked out of all children at once by itertools in C: the 3.3 million values of a 100,000-mailbox
    snapshot take under two tenths of a second."""
    level = [value] if _CONTAINER(type(value)) else []
    for _ in range(limit):
        if not level:
            return False
        level = list(compress(_children(level), map(_CONTAINER, map(type, _children(level)))))
    return bool(level)


def _children(level: list[Any]) -> Iterator[Any]:
    return chain.from_iterable(map(_contents, level))


def _contents(node: Any) -> Iterable[Any]:
    return node.values() if type(node) is dict else node


class _BoundedLoader(yaml.SafeLoader):
    """PyYAML's safe loader, with nesting capped while composing (the composer recurses), and a date or number that
    cannot be built (2027-02-30, 5,000 digits) turned into a YAML error with its line instead of a ValueError."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.depth = 0
        self.aliases = 0

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        if self.check_event(yaml.AliasEvent):
            self.aliases += 1
        self.depth += 1
        try:
            if self.depth > MAX_DEPTH:
                raise ComposerError(None, None, TOO_DEEP, self.peek_event().start_mark)  # type: ignore[no-untyped-call]
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Any, Any]:
        """A mapping whose keys are each written once: a key written twice is a YAML error at its second line,
        not the last value silently winning (a merge key `<<` still lets a mapping override what it merges)."""
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            if not isinstance(key_node, ScalarNode) or key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = key_node.value
            if key in seen:
                shown = f"the key {key!r}" if looks_like_a_name(key) else "a key"
                raise ConstructorError(None, None, f"holds {shown} twice in one mapping (first on line {seen[key]}); "
                                                   "keep one", key_node.start_mark)
            seen[key] = key_node.start_mark.line + 1
        return super().construct_mapping(node, deep)

    def construct_object(self, node: Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep)
        except (ValueError, OverflowError):
            raise ConstructorError(None, None, "holds a date or number that cannot be read (a day that is not on the "
                                               "calendar, or a number thousands of digits long)",
                                   node.start_mark) from None


def load_yaml(text: str) -> Any:
    """yaml.safe_load, bounded: nesting deeper than MAX_DEPTH, aliases that expand past MAX_EXPANDED nodes or nest
    deeper through each other, and an alias inside the node it names are YAML errors with their line."""
    loader = _BoundedLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        if loader.aliases:
            _expanded_size(node, {}, set(), 1)
        return loader.construct_document(node)
    finally:
        loader.dispose()


def _expanded_size(node: Node, sizes: dict[int, tuple[int, int]], open_nodes: set[int], depth: int) -> int:
    """How many nodes `node` stands for once every alias is written out, each shared node measured once; deeper
    than MAX_DEPTH or larger than MAX_EXPANDED through aliases, or holding itself, is a ComposerError."""
    key = id(node)
    if key in sizes:
        size, height = sizes[key]
        if depth + height - 1 > MAX_DEPTH:
            raise ComposerError(None, None, f"{TOO_DEEP} (through its aliases)", node.start_mark)
        return size
    if key in open_nodes:
        raise ComposerError(None, None, "an alias names the node that holds it (a document without end)",
                            node.start_mark)
    if depth > MAX_DEPTH:
        raise ComposerError(None, None, f"{TOO_DEEP} (through its aliases)", node.start_mark)
    children: list[Node] = []
    if isinstance(node, SequenceNode):
        children = list(node.value)
    elif isinstance(node, MappingNode):
        children = [part for pair in node.value for part in pair]
    open_nodes.add(key)
    size, height = 1, 1
    for child in children:
        size += _expanded_size(child, sizes, open_nodes, depth + 1)
        height = max(height, sizes[id(child)][1] + 1)
        if size > MAX_EXPANDED:
            raise ComposerError(None, None, f"its aliases expand to more than {MAX_EXPANDED:,} values (a \"billion "
                                            "laughs\"); write the values out, or use fewer aliases",
                                node.start_mark)
    open_nodes.discard(key)
    sizes[key] = (size, height)
    return size
