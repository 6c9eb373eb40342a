"""`merge_reports`: the shards' estate JSON reports united into the estate one unsharded run would have reported
(but for the run's clock and attestation), and refused with one line when they do not fit together."""

from __future__ import annotations

import datetime as dt
import io
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from checks import registry
from checks.drift import ReportError
from checks.errors import XtcheckError
from checks.estate_shard import shard_of
from checks.gate import decide
from checks.merge import merge_reports
from checks.model import (
    Attestation,
    BriefPass,
    EstateResult,
    Finding,
    Outcome,
    Remediation,
    Run,
    Severity,
    Status,
    Target,
    TargetResult,
    Unreadable,
    WaiverNote,
    passed,
)
from checks.report.estate import estate_gate
from checks.report.estate_json import render_estate_json

CATALOG = registry.load()[0]
STARTED = "2026-03-01T10:00:00Z"


def approved(subject: str, row: Any, brief: bool = False) -> Outcome | None:
    return None if brief else passed(subject, f"{subject} is approved")


def findings_of(n: int) -> list[Finding]:
    status = [Status.PASS, Status.FAIL, Status.WARN, Status.ERROR][n % 4]
    secret = {"credentials": [{"keyId": f"k{n % 3}", "displayName": "s", "hint": None, "start": None,
                               "end": f"2026-0{n % 3 + 4}-01T00:00:00Z"}], "when": dt.datetime(2026, 1, 1)}
    return [
        Finding("PRF-001", "profile", Severity.HIGH, status, "profile p", f"profile {n}",
                remediation=Remediation("fix it", ("one",), ("az x",), ("https://x",)) if status is not Status.PASS
                else None),
        Finding("APP-004", "secret", Severity.HIGH, Status.PASS, "app a", "ok", secret),
        Finding("MBX-001", "mailbox", Severity.MEDIUM, Status.FAIL, f"m{n}@x.com", "bad",
                waiver=WaiverNote("known", "ops", "2026-12-31", "applied") if n % 2 else None),
        Finding("EWS-001", "ews", Severity.MEDIUM, Status.WARN if n % 5 == 0 else Status.PASS, "tenant", "ews"),
        *[BriefPass(f"u{m}@t{n}.com", approved, {}).for_check("MBX-002", "approved", Severity.MEDIUM)
          for m in range(3)],
    ]


def target_result(n: int) -> TargetResult:
    findings = findings_of(n)
    run = Run("0.1.0", STARTED, "2026-03-01T10:00:03Z", f"https://org{n}.crm.dynamics.com", "ta", "tb", "app",
              "p", "public", tuple(CATALOG[i] for i in sorted(CATALOG)), {"environment": f"Org {n}"},
              (f"checked {n} mailboxes",), Attestation({"GET x": n}, 0, {}), gate=decide(findings))
    return TargetResult(Target(f"org{n}.crm.dynamics.com", run.environment_url, "p", "tb", "app"), findings, run)


UNREADABLE = [Unreadable("Locked", "https://locked.crm.dynamics.com", "HTTP 403", "assign a role")]
DISCOVERY = ("listed 13 environments: 12 audited as 12 targets, 1 the reader cannot read",)


def whole() -> EstateResult:
    return EstateResult([target_result(n) for n in range(12)], UNREADABLE, "0.1.0", STARTED, "2026-03-01T10:09:00Z",
                        Attestation({"GET x": 100}, 0, {"reader": ("A",)}), DISCOVERY)


def share(estate: EstateResult, index: int, count: int, started: str = STARTED) -> EstateResult:
    names = set(shard_of([t.target.name for t in estate.targets], index, count))
    chosen = [t for t in estate.targets if t.target.name in names]
    return replace(estate, targets=chosen, shard=(index, count), started=started,
                   completeness=(*DISCOVERY, f"shard {index} of {count}: {len(chosen)} of the estate's 12 targets"),
                   attestation=Attestation({"GET x": 10 * index}, 0, {"reader": (f"R{index}",)}))


def written(tmp_path: Path, estate: EstateResult, name: str) -> Path:
    stream = io.StringIO()
    render_estate_json(estate, stream)
    path = tmp_path / name
    path.write_text(stream.getvalue(), encoding="utf-8")
    return path


def document(estate: Any) -> dict[str, Any]:
    stream = io.StringIO()
    render_estate_json(estate, stream)
    data: dict[str, Any] = json.loads(stream.getvalue())
    return data


def without_run_clock(data: dict[str, Any]) -> dict[str, Any]:
    estate = {k: v for k, v in data["estate"].items() if k not in ("started", "finished", "attestation")}
    return {**data, "estate": estate}


def shards(tmp_path: Path, count: int = 3, skip: tuple[int, ...] = ()) -> list[Path]:
    estate = whole()
    return [written(tmp_path, share(estate, i, count, f"2026-03-01T10:0{i}:00Z"), f"s{i}.json")
            for i in range(1, count + 1) if i not in skip]


def test_a_merge_of_every_share_renders_as_the_unsharded_run(tmp_path: Path) -> None:
    paths = shards(tmp_path)
    assert all(json.loads(p.read_text())["targets"] for p in paths), "each share holds some targets"
    merged = merge_reports(list(reversed(paths)))
    assert without_run_clock(document(merged)) == without_run_clock(document(whole()))


def test_the_merge_sums_the_attestation_and_spans_the_shards_clocks(tmp_path: Path) -> None:
    merged = merge_reports(shards(tmp_path))
    assert merged.attestation.requests == {"GET x": 10 + 20 + 30}
    assert merged.attestation.token_roles == {"reader": ("R1", "R2", "R3")}
    assert (merged.started, merged.finished) == ("2026-03-01T10:01:00Z", "2026-03-01T10:09:00Z")
    assert merged.unreadable == UNREADABLE  # every shard lists it: once in the merge
    assert merged.completeness == DISCOVERY and merged.shard is None and merged.missing_shards == ()


def test_a_missing_share_is_named_and_keeps_the_estate_from_passing(tmp_path: Path) -> None:
    merged = merge_reports(shards(tmp_path, skip=(2,)))
    assert merged.missing_shards == (2,)
    assert merged.completeness[-1] == "merged 2 of 3 shares: share 2 missing, so their targets were not audited"
    assert estate_gate(merged).exit_code in (1, 3)
    assert "share 2 missing from the merge" in estate_gate(merged).reason
    assert document(merged)["estate"]["missing_shards"] == [2]


def test_a_passing_estate_missing_a_share_is_exit_3(tmp_path: Path) -> None:
    estate = whole()
    passing = [TargetResult(t.target, [], replace(t.run, gate=decide([]))) for t in estate.targets]
    estate = replace(estate, targets=passing, unreadable=[])
    paths = [written(tmp_path, share(estate, i, 2), f"p{i}.json") for i in (1,)]
    merged = merge_reports(paths)
    assert estate_gate(merged).exit_code == 3


def test_shares_of_different_counts_are_refused(tmp_path: Path) -> None:
    estate = whole()
    paths = [written(tmp_path, share(estate, 1, 2), "a.json"), written(tmp_path, share(estate, 2, 3), "b.json")]
    with pytest.raises(XtcheckError, match="is share 2 of 3, but the reports before it split the estate into 2"):
        merge_reports(paths)


def test_the_same_share_twice_is_refused(tmp_path: Path) -> None:
    estate = whole()
    paths = [written(tmp_path, share(estate, 1, 2), "a.json"), written(tmp_path, share(estate, 1, 2), "b.json")]
    with pytest.raises(XtcheckError, match="are both share 1 of 2"):
        merge_reports(paths)


def test_a_target_in_two_shares_is_refused(tmp_path: Path) -> None:
    estate = whole()
    one, two = share(estate, 1, 2), share(estate, 2, 2)
    two = replace(two, targets=[*two.targets, one.targets[0]])
    paths = [written(tmp_path, one, "a.json"), written(tmp_path, two, "b.json")]
    with pytest.raises(XtcheckError, match=r"target .* is in both"):
        merge_reports(paths)


def test_a_single_target_report_is_not_an_estate_report(tmp_path: Path) -> None:
    path = tmp_path / "single.json"
    path.write_text(json.dumps({"schema_version": "2", "findings": []}), encoding="utf-8")
    with pytest.raises(ReportError, match="is not an estate report"):
        merge_reports([path])


def test_a_broken_estate_report_is_refused_with_where(tmp_path: Path) -> None:
    path = written(tmp_path, whole(), "whole.json")
    data = json.loads(path.read_text())
    data["targets"][0]["findings"][0]["status"] = "exploded"
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ReportError, match=r"at targets\[0\]\.findings\[0\]\.status"):
        merge_reports([path])
    data["summary"]["exit_code"] = 7
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ReportError, match="summary"):
        merge_reports([path])


def test_the_signature_check_sees_the_bytes_of_each_report(tmp_path: Path) -> None:
    seen: list[str] = []

    def verify(raw: bytes, path: Path) -> None:
        seen.append(path.name)
        if path.name == "s2.json":
            raise XtcheckError(f"{path.name}: the signature does not verify")

    with pytest.raises(XtcheckError, match="s2.json: the signature does not verify"):
        merge_reports(shards(tmp_path), verify=verify)
    assert seen == ["s1.json", "s2.json"]


def test_nothing_to_merge_is_refused() -> None:
    with pytest.raises(XtcheckError, match="at least one"):
        merge_reports([])
