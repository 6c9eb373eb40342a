"""Sharding an estate: which targets the I-th of N machines audits (`--shard I/N`), decided by the target's name
alone, so every machine of a CI matrix picks its share without talking to the others."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable

from .errors import ConfigError

_SHARD = re.compile(r"\s*(\d{1,6})\s*/\s*(\d{1,6})\s*")


def parse_shard(text: str) -> tuple[int, int]:
    """`--shard I/N` as (I, N), 1 <= I <= N; anything else is a ConfigError of one line (exit 2)."""
    match = _SHARD.fullmatch(text)
    if match is None:
        raise ConfigError("--shard", f"{text.strip()[:40]!r} is not a share like 2/5 (the 2nd of 5 shares)")
    index, count = int(match.group(1)), int(match.group(2))
    if count < 1:
        raise ConfigError("--shard", f"{index}/{count}: the number of shares must be at least 1")
    if not 1 <= index <= count:
        raise ConfigError("--shard", f"{index}/{count}: the share must be between 1 and {count}")
    return index, count


def shard_key(name: str) -> int:
    """A number from the target's name that is the same on every machine and in every Python (not `hash()`, which
    is salted per process)."""
    return int.from_bytes(hashlib.sha256(name.encode("utf-8", "surrogatepass")).digest()[:8], "big")


def in_shard(name: str, index: int, count: int) -> bool:
    """Whether the target named `name` belongs to share `index` of `count` (1-based)."""
    return shard_key(name) % count == index - 1


def shard_of(names: Iterable[str], index: int, count: int) -> list[str]:
    """The names of share `index` of `count`, in the order given: the N shares of a list are a partition of it
    (each name in exactly one), whatever order or machine computes them."""
    if not 1 <= index <= count:
        raise ValueError(f"share {index} of {count} does not exist")
    return [name for name in names if in_shard(name, index, count)]
