"""A new check is one unit: registered through the public decorator with its remediation and its link, and nothing
else, it appears in the catalog, the permission table, the JSON report, its box of the HTML picture and the SARIF
rules. The check is added in a child process, so the registry of this test run stays as it is."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

CHILD = textwrap.dedent('''
    import contextlib, io, json, sys
    from checks.model import Remediation, Severity, failed
    from checks.registry import check

    def reissue(ids):
        return Remediation(f"Do the throwaway thing for the app {ids.client_id} in tenant {ids.exchange_tenant}.")

    @check("APP-099", "The throwaway condition holds", Severity.LOW, link="consent", remedy=reissue,
           references=("https://learn.microsoft.com/graph/api/resources/serviceprincipal",))
    def throwaway_condition_holds(client_service_principal, client_id):
        """A check added at run time, to show a new check needs no other file."""
        yield failed(f"app {client_id}", f"the throwaway condition does not hold for app {client_id}")

    from checks.cli import main

    outputs = {}
    for name, argv in {"catalog": ["checks"], "permissions": ["checks", "--permissions"],
                       "demo": ["demo", "healthy", "-q", "--format", "json,html,sarif", "--output-dir", sys.argv[1]]
                       }.items():
        stream = io.StringIO()
        with contextlib.redirect_stdout(stream):
            code = main(argv)
        outputs[name] = {"code": code, "stdout": stream.getvalue()}
    print(json.dumps(outputs))
''')


@pytest.fixture(scope="module")
def added(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, dict[str, object]], Path]:
    out = tmp_path_factory.mktemp("one-home")
    result = subprocess.run([sys.executable, "-c", CHILD, str(out)], capture_output=True, text=True, timeout=120,
                            check=False)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.splitlines()[-1]), out


def test_the_new_check_is_in_the_catalog_and_the_permission_table(
        added: tuple[dict[str, dict[str, object]], Path]) -> None:
    outputs, _ = added
    assert re.search(r"^APP-099\s+low\s+The throwaway condition holds$", str(outputs["catalog"]["stdout"]), re.M)
    row = next(line for line in str(outputs["permissions"]["stdout"]).splitlines()
               if "tenant B" in line and "Application.Read.All" in line)
    assert "APP-099" in row, "the check's probes need Application.Read.All in tenant B, so it is listed there"


def test_the_new_check_is_judged_and_fixed_in_the_json_report(added: tuple[dict[str, dict[str, object]], Path]) -> None:
    outputs, out = added
    assert outputs["demo"]["code"] == 1  # its failure gates the run like any other
    report = json.loads((out / "xtcheck-report.json").read_text(encoding="utf-8"))
    [finding] = [f for f in report["findings"] if f["check_id"] == "APP-099"]
    assert finding["status"] == "fail" and finding["severity"] == "low"
    assert finding["remediation"]["summary"].startswith("Do the throwaway thing for the app ")
    assert finding["remediation"]["links"] == ["https://learn.microsoft.com/graph/api/resources/serviceprincipal"]
    assert "APP-099" in report["run"]["checks"]


def test_the_new_check_lands_in_its_box_of_the_picture(added: tuple[dict[str, dict[str, object]], Path]) -> None:
    _, out = added
    page = (out / "xtcheck-report.html").read_text(encoding="utf-8")
    assert 'id="check-APP-099"' in page
    box = re.search(r'<g[^>]*id="node-consent".*?</g>', page, re.S)
    assert box is not None and "APP-099" in box.group(0), "the consent box lists the check that guards it"
    other = re.search(r'<g[^>]*id="node-app".*?</g>', page, re.S)
    assert other is not None and "APP-099" not in other.group(0), "a check's box follows its link, not its prefix"


def test_the_new_check_is_a_sarif_rule_with_its_help(added: tuple[dict[str, dict[str, object]], Path]) -> None:
    _, out = added
    log = json.loads((out / "xtcheck.sarif").read_text(encoding="utf-8"))
    rules = {rule["id"]: rule for rule in log["runs"][0]["tool"]["driver"]["rules"]}
    assert rules["APP-099"]["shortDescription"]["text"] == "The throwaway condition holds"
    assert rules["APP-099"]["helpUri"] == "https://learn.microsoft.com/graph/api/resources/serviceprincipal"
    assert "Do the throwaway thing" in rules["APP-099"]["help"]["text"]
    assert any(r["ruleId"] == "APP-099" for r in log["runs"][0]["results"])
