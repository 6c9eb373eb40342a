"""The fault matrix's table, printed in pytest's terminal summary whenever its cases ran (in any order, or alone)."""

from __future__ import annotations

import sys

import pytest


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    module = sys.modules.get("test_fault_matrix")
    lines = module.render_matrix() if module is not None else []
    for line in lines:
        terminalreporter.write_line(line)
