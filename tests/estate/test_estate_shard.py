"""Sharding: `--shard I/N` splits the estate's targets by name, the same way on every machine."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from checks.cli import main
from checks.errors import ConfigError
from checks.estate_shard import parse_shard, shard_of

NAMES = [f"org{n}.crm{n % 9}.dynamics.com · Exchange {n % 3}" for n in range(2000)]


def test_the_shares_partition_the_targets() -> None:
    shares = [shard_of(NAMES, index, 5) for index in range(1, 6)]
    assert sorted(name for share in shares for name in share) == sorted(NAMES)
    assert sum(len(share) for share in shares) == len(NAMES)  # none twice


def test_a_share_keeps_the_order_it_was_given_and_does_not_depend_on_it() -> None:
    share = shard_of(NAMES, 2, 3)
    assert share == [name for name in NAMES if name in set(share)]
    assert sorted(shard_of(list(reversed(NAMES)), 2, 3)) == sorted(share)


def test_the_shares_are_the_same_in_every_process() -> None:
    """Pinned, and computed again in processes with other hash seeds: a salted hash() would move targets from
    machine to machine, and two shards would audit one target while none audited another."""
    letters = ["a", "b", "c", "d", "e", "f", "g", "h"]
    assert shard_of(letters, 1, 2) == ["a", "b", "c", "e", "f"]
    code = "from checks.estate_shard import shard_of; print(shard_of(list('abcdefgh'), 1, 2))"
    for seed in ("1", "2"):
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                              env={**os.environ, "PYTHONHASHSEED": seed})
        assert done.stdout.strip() == "['a', 'b', 'c', 'e', 'f']"


@pytest.mark.parametrize("count", [2, 3, 4, 7, 10])
def test_the_shares_are_balanced(count: int) -> None:
    sizes = [len(shard_of(NAMES, index, count)) for index in range(1, count + 1)]
    expected = len(NAMES) / count
    assert all(abs(size - expected) < expected * 0.15 for size in sizes), sizes


def test_one_share_of_one_is_everything() -> None:
    assert shard_of(NAMES, 1, 1) == NAMES


@pytest.mark.parametrize(("text", "expected"), [("1/1", (1, 1)), ("2/5", (2, 5)), (" 3 / 3 ", (3, 3))])
def test_a_share_is_parsed(text: str, expected: tuple[int, int]) -> None:
    assert parse_shard(text) == expected


@pytest.mark.parametrize(("text", "message"), [
    ("0/2", "--shard: 0/2: the share must be between 1 and 2"),
    ("3/2", "--shard: 3/2: the share must be between 1 and 2"),
    ("1/0", "--shard: 1/0: the number of shares must be at least 1"),
    ("x", "--shard: 'x' is not a share like 2/5 (the 2nd of 5 shares)"),
    ("1/2/3", "--shard: '1/2/3' is not a share like 2/5 (the 2nd of 5 shares)"),
])
def test_a_share_that_does_not_exist_is_one_line(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        parse_shard(text)
    assert str(raised.value) == message


def test_shard_of_refuses_a_share_that_does_not_exist() -> None:
    with pytest.raises(ValueError, match="share 3 of 2 does not exist"):
        shard_of(NAMES, 3, 2)


@pytest.mark.parametrize("text", ["0/2", "3/2", "x"])
def test_the_command_line_refuses_a_bad_share_with_one_line_and_exit_2(
        text: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "xtcheck.yaml"
    config.write_text("dynamics: {}\n", encoding="utf-8")
    code = main(["audit", "--config", str(config), "--shard", text])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and "--shard" in err, err
