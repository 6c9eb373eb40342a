"""The sarif report (placeholder until it is written)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TextIO

from ..model import Finding, Run


def render_sarif(findings: Sequence[Finding], run: Run, stream: TextIO) -> None:
    raise NotImplementedError("the sarif report is not written yet")
