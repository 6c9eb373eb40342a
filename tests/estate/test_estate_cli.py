"""The estate through the command line, as a partner's CI runs it: one audit writing every format, and the same
estate audited in two shares on "two machines" and merged, which must report what the single run reported."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from estates import REFS, estate_config, three_environments

import schemas
from checks.cli import main
from checks.sandbox.server import Sandbox

FILES = ("xtcheck-report.json", "xtcheck-junit.xml", "xtcheck-report.html", "xtcheck-summary.md", "xtcheck.sarif",
         "xtcheck-calendar.ics")
RUN_CLOCK = {"started", "finished", "attestation"}  # what differs between two runs of the same estate


def without_clock(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: without_clock(v) for k, v in value.items() if k not in RUN_CLOCK}
    if isinstance(value, list):
        return [without_clock(v) for v in value]
    return value


@pytest.fixture
def estate(start_sandbox: Callable[..., Sandbox], tmp_path: Path) -> Path:
    """Three targets; the "test" environment's Dataverse answers 500 to everything (its findings are errors)."""
    cloud = start_sandbox(three_environments())
    cloud.add_fault("status", service="dataverse:test", status=500, count=None)
    return estate_config(cloud, tmp_path)


def test_one_run_writes_every_format_for_the_estate(estate: Path, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "reports"
    code = main(["audit", "--config", str(estate), "--format", "console," + ",".join(
        ("json", "junit", "html", "markdown", "sarif", "calendar")), "--output-dir", str(out), "--color", "never"])
    console = capsys.readouterr().out
    assert code == 3  # a target could not be read and none failed: never a pass
    assert sorted(p.name for p in out.iterdir()) == sorted(FILES)
    document = json.loads((out / "xtcheck-report.json").read_text(encoding="utf-8"))
    schemas.validator("estate-report").validate(document)
    assert document["kind"] == "estate" and sorted(t["target"]["name"] for t in document["targets"]) == sorted(REFS)
    lines = console.strip().splitlines()
    overview = [line for line in lines if any(f" {ref} " in f" {line} " for ref in REFS)][:3]
    assert "test" in overview[0]  # worst first
    assert "—— test ——" in console and "—— prod ——" not in console  # detail for what needs a look (-v: all)
    assert "2 passing targets are not detailed here" in console
    assert lines[-1].startswith("exit 3") or "exit 3" in lines[-1]


def test_two_shares_merged_report_what_one_run_reports(estate: Path, tmp_path: Path) -> None:
    whole = tmp_path / "whole"
    assert main(["audit", "--config", str(estate), "--format", "json", "-o", str(whole), "-q"]) == 3
    shares = []
    for index in (1, 2):
        folder = tmp_path / f"share-{index}"
        main(["audit", "--config", str(estate), "--shard", f"{index}/2", "--format", "json", "-o", str(folder), "-q"])
        shares.append(str(folder / "xtcheck-report.json"))
    merged = tmp_path / "merged"
    assert main(["merge", *shares, "--format", "json", "-o", str(merged), "-q"]) == 3
    single = json.loads((whole / "xtcheck-report.json").read_text(encoding="utf-8"))
    joined = json.loads((merged / "xtcheck-report.json").read_text(encoding="utf-8"))
    assert without_clock(joined) == without_clock(single)


def test_a_missing_share_is_named_and_never_passes(estate: Path, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "share-1"
    main(["audit", "--config", str(estate), "--shard", "1/3", "--format", "json", "-o", str(folder), "-q"])
    capsys.readouterr()
    code = main(["merge", str(folder / "xtcheck-report.json"), "--color", "never"])
    out = capsys.readouterr().out
    assert code in (1, 3) and "2" in out and "missing" in out.lower()


def test_diff_of_two_estate_runs_names_the_target_that_regressed(start_sandbox: Callable[..., Sandbox],
                                                                  tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    cloud = start_sandbox(three_environments())
    config = estate_config(cloud, tmp_path)
    before, after = tmp_path / "before", tmp_path / "after"
    assert main(["audit", "--config", str(config), "--format", "json", "-o", str(before), "-q"]) == 0
    cloud.add_fault("status", service="dataverse:emea", status=500, count=None)
    assert main(["audit", "--config", str(config), "--format", "json", "-o", str(after), "-q"]) == 3
    capsys.readouterr()
    old, new = str(before / "xtcheck-report.json"), str(after / "xtcheck-report.json")
    assert main(["diff", old, new]) == 1
    out = capsys.readouterr().out
    assert "target emea" in out and "target prod" not in out and "REGRESSION" in out
    assert out.strip().splitlines()[-1].endswith("regressions; 1 of 3 targets changed")
    assert main(["diff", new, old]) == 0  # the way back resolves it
    single = tmp_path / "single"
    assert main(["demo", "-q", "--format", "json", "-o", str(single)]) in (0, 1, 3)
    capsys.readouterr()
    assert main(["diff", old, str(single / "xtcheck-report.json")]) == 2
    assert "estate report" in capsys.readouterr().err
