"""The command line behaves like the tools admins already use: one report on stdout and nothing else there, colour
that follows NO_COLOR, FORCE_COLOR, TERM=dumb and --color, prose wrapped to the terminal with commands and links
left whole, and `-` never taken for a folder."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from report_samples import CLIENT, finding, make_run, sample_findings

from checks.model import Remediation, Status
from checks.report.console import fold, render_console
from checks.terminal import line_width, use_color

ESCAPE = re.compile(r"\x1b\[[0-9;]*m")


def xtcheck(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None
            ) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR", "TERM")}
    return subprocess.run([sys.executable, "-m", "checks", *args], capture_output=True, text=True, timeout=120,
                          check=False, env={**environ, **(env or {})}, cwd=cwd)


def test_output_dash_writes_the_one_report_to_stdout_and_nothing_else(tmp_path: Path) -> None:
    result = xtcheck("demo", "--format", "json", "--output", "-", cwd=tmp_path)
    assert result.returncode == 1
    report = json.loads(result.stdout)  # the whole of stdout is the report
    assert report["summary"]["exit_code"] == 1
    assert "auditing the sandbox scenario" in result.stderr
    assert list(tmp_path.iterdir()) == []  # `-` is not a folder, and no reports/ either


def test_output_dash_with_two_formats_is_one_usage_line(tmp_path: Path) -> None:
    result = xtcheck("demo", "--format", "json,html", "-o", "-", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.splitlines() == ["xtcheck: --output: '-' writes one file format to stdout: name exactly one, "
                                          "for example --format json --output -"]
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("env", "flag", "coloured"), [
    ({}, [], False),  # a pipe: no colour
    ({"FORCE_COLOR": "1"}, [], True),
    ({"FORCE_COLOR": "1", "NO_COLOR": "1"}, [], False),  # NO_COLOR wins
    ({"FORCE_COLOR": "0"}, [], False),
    ({}, ["--color", "always"], True),
    ({"NO_COLOR": "1"}, ["--color", "always"], True),  # the flag is the user's own word
    ({"FORCE_COLOR": "1"}, ["--color", "never"], False),
])
def test_colour_follows_the_conventions_and_the_flag(env: dict[str, str], flag: list[str], coloured: bool) -> None:
    result = xtcheck("demo", "-q", *flag, env=env)
    assert bool(ESCAPE.search(result.stdout)) is coloured


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(("env", "coloured"), [({}, True), ({"TERM": "dumb"}, False), ({"NO_COLOR": ""}, True),
                                               ({"NO_COLOR": "x"}, False)])
def test_on_a_terminal_colour_is_on_unless_the_environment_says_otherwise(env: dict[str, str],
                                                                         coloured: bool) -> None:
    assert use_color("auto", Terminal(), env) is coloured
    assert use_color("auto", io.StringIO(), env) is False  # a file or a pipe: no colour unless forced


def test_lines_wrap_to_the_terminal_within_bounds_and_not_into_a_file() -> None:
    assert line_width(Terminal(), {"COLUMNS": "100"}) == 100
    assert line_width(Terminal(), {"COLUMNS": "20"}) == 60
    assert line_width(Terminal(), {"COLUMNS": "500"}) == 160
    assert line_width(io.StringIO(), {"COLUMNS": "100"}) is None


def test_prose_wraps_under_its_finding_while_commands_and_links_stay_whole() -> None:
    command = f"az ad app permission add --id {CLIENT} --api 00000003-0000-0000-c000-000000000000 --api-permissions x"
    link = "https://learn.microsoft.com/power-platform/admin/connect-exchange-online-server-profile-oauth#a-long-anchor"
    fix = Remediation("Add the Microsoft Graph application permissions that server-side sync needs to the app, "
                      "then grant admin consent in tenant B.", commands=(command,), links=(link,))
    long = finding("GRA-001", Status.FAIL, f"app {CLIENT}", "the app lacks 2 of the 11 Microsoft Graph application "
                   "permissions server-side sync needs in tenant B: MailboxConfigItem.ReadWrite, Tasks.ReadWrite.All",
                   remediation=fix)
    stream = io.StringIO()
    render_console([*sample_findings(), long], make_run(), stream, color=True, quiet=False, width=80)
    lines = stream.getvalue().splitlines()
    too_long = [ln for ln in lines if len(ESCAPE.sub("", ln)) > 80]
    assert too_long and all(ESCAPE.sub("", ln).lstrip().startswith(("$ ", "see ", "https://")) for ln in too_long)
    assert f"         $ {command}" in lines and f"         see {link}" in lines
    start = next(n for n, ln in enumerate(lines) if "GRA-001" in ln)
    assert lines[start + 1].startswith("       ") and not lines[start + 1].startswith("        ")  # hangs under


def test_fold_leaves_short_lines_and_lines_without_spaces_alone() -> None:
    assert fold("  FAIL APP-001  short", 80) == ["  FAIL APP-001  short"]
    unbreakable = "x" * 200
    assert fold(f"  FAIL {unbreakable}", 80) == [f"  FAIL {unbreakable}"]
