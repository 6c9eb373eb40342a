"""Text from outside as every output shows it: a secret or a token that tenant data or a server's answer echoes is
redacted in findings, reports, the console and the evidence snapshot; a line break cannot forge a console line or a
GitHub Actions workflow command; an overlong value is cut and says so."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from security_outputs import assert_no_leak, audit_args, files_in, report_of, run_cli

from checks import redact
from checks.drift import every_finding
from checks.sandbox.scenario import load
from checks.sandbox.server import Sandbox
from checks.text import LONGEST, clip, visible_line

StartSandbox = Callable[..., Sandbox]
FAKE_JWT = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJodHRwczovL2dyYXBoLm1pY3Jvc29mdC5jb20ifQ.c2lnbmF0dXJl"
FORGED = "  PASS APP-001  forged verdict"
WORKFLOW = "::error title=injected::xtcheck was told to say this"


def healthy_with(change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    scenario = load("healthy", dt.datetime.now(dt.UTC))
    change(scenario)
    return scenario


def sync_app(scenario: dict[str, Any]) -> dict[str, Any]:
    app: dict[str, Any] = scenario["applications"][0]
    return app


def test_a_secret_or_token_that_tenant_data_echoes_is_redacted_in_every_output(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture) -> None:
    reader_secret = load("healthy", dt.datetime.now(dt.UTC))["readers"][0]["secret"]
    app_secret = sync_app(load("healthy", dt.datetime.now(dt.UTC)))["passwordCredentials"][-1]["secret"]
    echo = f"sync {reader_secret} {app_secret} Bearer {FAKE_JWT}"

    def echoing(scenario: dict[str, Any]) -> None:
        sync_app(scenario)["displayName"] = echo
        sync_app(scenario)["passwordCredentials"][-1]["displayName"] = f"sss {reader_secret}"

    with Sandbox(healthy_with(echoing)) as cloud:
        out = tmp_path / "out"
        code, texts = run_cli(audit_args(cloud.write_config(), out, "-v"), capsys, caplog)
    assert code == 0, texts["stderr"]
    outputs = {**texts, **files_in(out)}
    assert_no_leak(outputs, [reader_secret, app_secret, FAKE_JWT[:40]])
    messages = [f["message"] for f in every_finding(report_of(out)) if f["check_id"] == "APP-001"]
    assert messages and "sync [redacted] [redacted] Bearer [redacted]" in messages[0]
    assert "[redacted]" in texts["stdout"]


def test_a_line_break_in_tenant_data_cannot_forge_a_console_line_or_a_workflow_command(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture) -> None:
    hostile = f"Sync\n{FORGED}\n{WORKFLOW}\r\n\x1b[2J"

    def forging(scenario: dict[str, Any]) -> None:
        sync_app(scenario)["displayName"] = hostile
        sync_app(scenario)["passwordCredentials"][-1]["displayName"] = hostile

    with Sandbox(healthy_with(forging)) as cloud:
        out = tmp_path / "out"
        code, texts = run_cli(audit_args(cloud.write_config(), out, "-v"), capsys, caplog)
    assert code == 0, texts["stderr"]
    for stream in ("stdout", "stderr"):
        lines = texts[stream].splitlines()
        assert not [line for line in lines if line.startswith(("::", FORGED.strip(), FORGED))], stream
        assert "\x1b" not in texts[stream] and "\r" not in texts[stream]
    assert visible_line(hostile) in texts["stdout"]  # shown, written visibly on the line it belongs to


def test_an_overlong_value_is_cut_and_says_how_much(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                   caplog: pytest.LogCaptureFixture) -> None:
    huge = "A" * (LONGEST * 5)

    def overlong(scenario: dict[str, Any]) -> None:
        sync_app(scenario)["displayName"] = huge

    with Sandbox(healthy_with(overlong)) as cloud:
        out = tmp_path / "out"
        code, texts = run_cli(audit_args(cloud.write_config(), out, evidence=False), capsys, caplog)
    assert code == 0, texts["stderr"]
    [message] = [f["message"] for f in every_finding(report_of(out)) if f["check_id"] == "APP-001"]
    assert re.search(r"…\[truncated 80\.\d kB\]$", message) and len(message) < LONGEST + 500
    assert huge not in texts["stdout"] and re.search(r"…\[truncated 80\.\d kB\]", texts["stdout"])
    for path in out.iterdir():
        assert huge not in path.read_text(encoding="utf-8"), path.name


@pytest.mark.parametrize(("value", "shown"), [
    ("s3cr3t/with+odd&chars=", "[redacted]"),
    ("s3cr3t%2Fwith%2Bodd%26chars%3D", "[redacted]"),  # as it travels in a form or a URL
    ("s3cr3t/with+odd&chars=".replace("/", "\\/"), "s3cr3t\\/with+odd&chars="),  # not a form anyone sends
    (json.dumps('s3cr3t/with+odd&chars="')[1:-1], "[redacted]"),  # JSON-escaped, as a server's body holds it
])
def test_a_remembered_secret_is_redacted_in_every_form_it_travels_in(value: str, shown: str) -> None:
    redact.remember("s3cr3t/with+odd&chars=")
    redact.remember('s3cr3t/with+odd&chars="')
    assert redact.redact(f"before {value} after") == f"before {shown} after"


def test_a_token_is_redacted_by_its_shape_or_remembered_when_it_has_none() -> None:
    redact.remember_token(FAKE_JWT)
    redact.remember_token("opaque-token-value-9QxZ")
    assert redact.redact(f"a {FAKE_JWT[:30]} b") == "a [redacted] b"
    assert redact.redact("got opaque-token-value-9QxZ back") == "got [redacted] back"


def test_many_subjects_are_redacted_in_one_pass_and_left_alone_when_clean() -> None:
    subjects = [f"user{n}@contoso.com" for n in range(1000)]
    assert redact.redact_all(subjects) is subjects
    dirty = [*subjects, f"Bearer {FAKE_JWT}@contoso.com"]
    assert redact.redact_all(dirty)[-1] == "Bearer [redacted]@contoso.com"
    assert redact.redact_all(dirty)[:-1] == subjects


def test_redact_data_rewrites_keys_and_values_at_every_depth() -> None:
    data = {"a": [{"Bearer " + FAKE_JWT: ("x", FAKE_JWT)}], "n": 1}
    assert redact.redact_data(data) == {"a": [{"Bearer [redacted]": ("x", "[redacted]")}], "n": 1}
    clean = {"a": ["b", {"c": 1}]}
    assert redact.redact_data(clean) is clean


@pytest.mark.parametrize(("length", "marker"), [(LONGEST, ""), (LONGEST + 1, "…[truncated 1 character]"),
                                                (LONGEST + 2_500, "…[truncated 2.5 kB]"),
                                                (LONGEST + 3_000_000, "…[truncated 3.0 MB]")])
def test_clip_cuts_what_is_longer_than_a_report_keeps(length: int, marker: str) -> None:
    text = "x" * length
    assert clip(text) == ("x" * LONGEST + marker if marker else text)
