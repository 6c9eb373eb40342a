"""The read-only attestation tells the readers' tokens from the opt-in sign-in as the sync app (EXO-003): the app's
own token carries full_access_as_app because sync needs it, and that is no reason to tell anyone that xtcheck's
reader can write."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from checks.cli import main

WARNING = "the reader tokens carry write permissions"


def test_the_demo_attests_the_live_probe_apart_and_warns_of_no_write_permission(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["demo", "--format", "console,json,html,markdown,sarif", "--output-dir", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 1  # the demo fails on purpose
    report = json.loads((tmp_path / "xtcheck-report.json").read_text(encoding="utf-8"))
    attestation = report["run"]["attestation"]
    reader_roles = {role for roles in attestation["token_roles"].values() for role in roles}
    assert "full_access_as_app" not in reader_roles
    assert [roles for roles in attestation["live_probe"].values()] == [["full_access_as_app"]]
    assert all(key.startswith("app ") for key in attestation["live_probe"])
    texts = {"console": out, **{p.name: p.read_text(encoding="utf-8") for p in tmp_path.iterdir()}}
    for where, text in texts.items():
        assert WARNING not in text, where
    assert "the sync app's own token (opt-in live sign-in for EXO-003" in out
    sarif = json.loads(texts["xtcheck.sarif"])
    assert sarif["runs"][0]["invocations"][0]["properties"]["attestation"]["live_probe"] == attestation["live_probe"]
    assert "Live probe token" in texts["xtcheck-report.html"]
