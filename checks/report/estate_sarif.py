"""The SARIF 2.1.0 report of an estate: one run per target (by name), each the single-target report's run
(checks/report/sarif.py) as code scanning takes it (results on the config file, only what needs a person), with an
analysis category of its own ("xtcheck/<target>/"), so one upload keeps each target's alerts apart. Written a run
at a time: the log of 500 targets is never held whole."""

from __future__ import annotations

import json
from typing import Any, TextIO

from ..model import EstateResult
from ..text import json_visible
from .estate import EstateReport, TargetReport, as_estate_report
from .sarif import SARIF_SCHEMA, SARIF_VERSION, sarif_log


def render_estate_sarif(estate: EstateResult | EstateReport, stream: TextIO, *, problems_only: bool = True) -> None:
    """Write the estate as one SARIF log with a run per target (UTF-8 text, deterministic for the same input)."""
    report = as_estate_report(estate)
    targets = sorted(report.targets, key=lambda item: (item.target.name.lower(), item.target.name))
    head = json.dumps({"$schema": SARIF_SCHEMA, "version": SARIF_VERSION}, indent=2, ensure_ascii=False)
    stream.write(head[:-2] + ',\n  "runs": [')
    for n, item in enumerate(targets):
        stream.write(",\n" if n else "\n")
        text = json.dumps(target_run(item, problems_only=problems_only), indent=2, ensure_ascii=False)
        stream.write(json_visible("\n".join(f"    {line}" for line in text.split("\n"))))
    stream.write("\n  ]\n}\n" if targets else "]\n}\n")


def target_run(item: TargetReport, *, problems_only: bool = True) -> dict[str, Any]:
    """A target's SARIF run: the single report's, its category and properties naming the target."""
    run = item.run
    log = sarif_log(item.report, run, artifact_uri=run.source or None, problems_only=problems_only)
    sarif_run: dict[str, Any] = log["runs"][0]
    sarif_run["automationDetails"] = {"id": f"xtcheck/{item.target.name}/"}
    sarif_run["properties"] = {"target": item.target.name, **sarif_run["properties"]}
    return referenced_rules_only(sarif_run)


def referenced_rules_only(sarif_run: dict[str, Any]) -> dict[str, Any]:
    """The run with only the rules its results name (re-indexed). The catalog's rules with their help are about
    100 KB; repeated in each of 500 runs they would be most of the file, and a target that passes needs none."""
    driver = sarif_run["tool"]["driver"]
    used = {result["ruleId"] for result in sarif_run.get("results", [])}
    rules = [rule for rule in driver.get("rules", []) if rule["id"] in used]
    index = {rule["id"]: n for n, rule in enumerate(rules)}
    driver["rules"] = rules
    for result in sarif_run.get("results", []):
        if "ruleIndex" in result:
            result["ruleIndex"] = index[result["ruleId"]]
    return sarif_run
