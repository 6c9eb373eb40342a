"""The pytest plugin (placeholder until it is written): inactive unless `--xtcheck-config` is given."""

from __future__ import annotations

from typing import Any


def pytest_addoption(parser: Any) -> None:
    group = parser.getgroup("xtcheck")
    group.addoption("--xtcheck-config", metavar="FILE", default=None,
                    help="run the xtcheck audit once and collect one test item per finding")
