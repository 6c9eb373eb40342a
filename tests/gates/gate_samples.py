"""The demo scenario audited through the CLI, with its evidence snapshot and JSON report, for the CI-gate tests."""

from __future__ import annotations

from pathlib import Path

from checks.cli import main


def save_demo(folder: Path) -> Path:
    """`xtcheck demo --save-evidence ... --format json` into `folder`: snapshot.json and report/xtcheck-report.json."""
    code = main(["demo", "-q", "--save-evidence", str(folder / "snapshot.json"), "--format", "json",
                 "--output-dir", str(folder / "report")])
    assert code == 1  # the demo scenario has failures
    return folder
