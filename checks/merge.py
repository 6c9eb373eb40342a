"""`xtcheck merge`: the estate JSON reports of the machines of a CI matrix (`--shard I/N`), united into one estate,
as if one machine had audited it all. Every format then renders from the merge as from a run.

The shards are read as `drift` reads a report (size-bounded, signature checked on the very bytes parsed, the header
validated against the schema, each finding checked for the fields rendering reads) and refused with one line when
they do not fit together: another number of shares, a share twice, a target in two shares, a report that is not an
estate's. A merge without every share is still made, but says which shares are missing (completeness, the gate's
reason, `missing_shards`): its exit code is then at least 3."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import jsonschema

import schemas

from . import registry
from .documents import brief, describe
from .drift import ReportError, document, first_problem
from .errors import XtcheckError
from .files import shown
from .findings import Digest, Passed, area_rank, by_area
from .model import (
    Attestation,
    CheckSpec,
    Finding,
    GateDecision,
    Remediation,
    Run,
    Severity,
    Status,
    Target,
    Unreadable,
    UnusedWaiver,
    WaiverNote,
)
from .report.estate import EstateReport, TargetReport
from .report.estate_json import KIND

Verify = Callable[[bytes, Path], None]
_SHARD_LINE = re.compile(r"^shard \d+ of \d+: ")  # a share's own completeness line: a merge says it for them all


def merge_reports(paths: Sequence[Path], verify: Verify | None = None) -> EstateReport:
    """One estate from the shards' estate JSON reports: targets united and sorted by name, unreadable environments
    united, the attestation summed, the run from the first start to the last finish."""
    if not paths:
        raise XtcheckError("merge needs at least one estate JSON report (xtcheck-report.json of each shard)")
    shards = [(path, read_estate(path, verify)) for path in paths]
    count, given = _shares(shards)
    targets = _targets(shards)
    missing = tuple(index for index in range(1, count + 1) if index not in given)
    heads = [data["estate"] for _, data in shards]
    return EstateReport(
        sorted(targets, key=lambda item: (item.target.name.lower(), item.target.name)),
        list(dict.fromkeys(_unreadable(item) for head in heads for item in head["unreadable"])),
        str(shards[0][1]["tool"]["version"]), min((h["started"] for h in heads), key=_instant),
        max((h["finished"] for h in heads), key=_instant), summed([_attestation(h["attestation"]) for h in heads]),
        _completeness(heads, missing, count), None, missing)


def read_estate(path: Path, verify: Verify | None = None) -> dict[str, Any]:
    """An estate JSON report, validated cheaply: its header and each target's head against the schema (findings and
    passing subjects emptied), then each finding and list of passing subjects for the fields a merge reads."""
    return validated_estate(document(path, verify), shown(path))


def validated_estate(data: dict[str, Any], name: str) -> dict[str, Any]:
    """An estate report's document (`drift.document`), validated as `read_estate` says; a ReportError otherwise."""
    if data.get("kind") != KIND:
        raise ReportError(f"{name} is not an estate report (no kind \"estate\"): merge the xtcheck-report.json that "
                          "each --shard run of an estate wrote")
    targets = data.get("targets")
    header = {**data, "targets": [{**t, "findings": [], "passed": []} if isinstance(t, dict) else t
                                  for t in targets] if isinstance(targets, list) else targets}
    error = jsonschema.exceptions.best_match(schemas.validator("estate-report").iter_errors(header))
    if error is not None:
        key, problem = describe(error, brief)
        raise ReportError(f"{name} is not a valid xtcheck estate report at {key or '(top level)'}: {problem}")
    for index, target in enumerate(data["targets"]):
        broken = first_problem(target)
        if broken is not None:
            raise ReportError(f"{name} is not a valid xtcheck estate report at targets[{index}].{broken}")
    return data


def _shares(shards: list[tuple[Path, dict[str, Any]]]) -> tuple[int, set[int]]:
    """The number of shares and those given; a report without --shard is the one share of one."""
    seen: dict[int, Path] = {}
    counts = set()
    for path, data in shards:
        shard = data["estate"]["shard"] or {"index": 1, "count": 1}
        counts.add(shard["count"])
        if len(counts) > 1:
            raise XtcheckError(f"{shown(path)} is share {shard['index']} of {shard['count']}, but the reports before "
                               f"it split the estate into {min(counts - {shard['count']})}: merge the shares of one "
                               "run")
        if shard["index"] in seen:
            raise XtcheckError(f"{shown(path)} and {shown(seen[shard['index']])} are both share {shard['index']} of "
                               f"{shard['count']}: give each share once")
        seen[shard["index"]] = path
    return counts.pop(), set(seen)


def _targets(shards: list[tuple[Path, dict[str, Any]]]) -> list[TargetReport]:
    where: dict[str, Path] = {}
    targets = []
    for path, data in shards:
        for item in data["targets"]:
            name = item["target"]["name"]
            if name in where:
                raise XtcheckError(f"target {brief(name)} is in both {shown(where[name])} and {shown(path)}: each "
                                   "target belongs to one share; merge the shares of one run")
            where[name] = path
            targets.append(target_of(item, str(data["tool"]["version"])))
    return targets


def target_of(item: dict[str, Any], tool_version: str) -> TargetReport:
    """A target of an estate report as the reports read it, rebuilt from its JSON."""
    run, summary = item["run"], item["summary"]
    gate = summary["gate"]
    findings = [_finding(f) for f in item["findings"]]
    passed = {group["check_id"]: Passed(group["check_id"], group["title"], Severity(group["severity"]), [],
                                        list(group["subjects"]))
              for group in sorted(item["passed"], key=lambda g: (area_rank(g["check_id"].split("-")[0]),
                                                                  g["check_id"]))}
    counts = {status: int(summary["counts"].get(status.value, 0)) for status in Status}
    decision = GateDecision(summary["exit_code"], gate["reason"], gate["fail_on"], Severity(gate["min_severity"]),
                            gate["counted"], gate["below_min_severity"], gate["waived"])
    made = Run(tool_version, run["started"], run["finished"], run["environment_url"],
               run["dynamics_tenant"], run["exchange_tenant"], run["client_id"], run["profile"], run["cloud"],
               _checks(run["checks"]), {}, tuple(run["completeness"]), _attestation(run["attestation"]),
               tuple(UnusedWaiver(**w) for w in run.get("unused_waivers", ())), "", decision)
    return TargetReport(Target(**item["target"]), Digest(by_area(findings), passed, counts), made)


def _finding(data: dict[str, Any]) -> Finding:
    fix, waiver = data.get("remediation"), data.get("waiver")
    return Finding(data["check_id"], data["title"], Severity(data["severity"]), Status(data["status"]),
                   data["subject"], data["message"], data["evidence"],
                   Remediation(fix["summary"], tuple(fix["steps"]), tuple(fix["commands"]), tuple(fix["links"]))
                   if fix else None, data.get("blocked_by"),
                   _waiver(waiver) if waiver else None)


def _waiver(data: dict[str, Any]) -> WaiverNote:
    return WaiverNote(data["reason"], data["owner"], data["expires"], data["state"])


def _checks(ids: Iterable[str]) -> tuple[CheckSpec, ...]:
    """The checks by id, from this xtcheck's catalog (their chain links); an id it does not know, as a stand-in."""
    catalog = registry.load()[0]
    return tuple(catalog.get(check_id) or _stand_in(check_id) for check_id in sorted(ids))


def _stand_in(check_id: str) -> CheckSpec:
    def nothing(*_: Any, **__: Any) -> Any:
        raise XtcheckError(f"{check_id} is not a check of this xtcheck: it only names a check of a merged report")

    return CheckSpec(check_id, check_id, Severity.INFO, "", nothing, (), nothing, "")


def _attestation(data: dict[str, Any]) -> Attestation:
    return Attestation(dict(data["requests"]), data["writes_attempted"],
                       {key: tuple(roles) for key, roles in data["token_roles"].items()},
                       {key: tuple(roles) for key, roles in data.get("live_probe", {}).items()})


def summed(attestations: Sequence[Attestation]) -> Attestation:
    """What every machine did on the wire, together: requests and writes added up, the roles of every token."""
    requests: dict[str, int] = {}
    roles: dict[str, set[str]] = {}
    live: dict[str, set[str]] = {}
    for item in attestations:
        for key, count in item.requests.items():
            requests[key] = requests.get(key, 0) + count
        for key, carried in item.token_roles.items():
            roles.setdefault(key, set()).update(carried)
        for key, carried in item.live_probe.items():
            live.setdefault(key, set()).update(carried)
    return Attestation(requests, sum(item.writes_attempted for item in attestations),
                       {key: tuple(sorted(value)) for key, value in roles.items()},
                       {key: tuple(sorted(value)) for key, value in live.items()})


def _unreadable(data: dict[str, Any]) -> Unreadable:
    return Unreadable(data["environment"], data["environment_url"], data["reason"], data["fix"])


def _completeness(heads: list[dict[str, Any]], missing: tuple[int, ...], count: int) -> tuple[str, ...]:
    """What the shards covered, each line once (discovery is the same on every machine); a share's own line is left
    out, and the shares missing are named."""
    lines = dict.fromkeys(line for head in heads for line in head["completeness"] if not _SHARD_LINE.match(line))
    if missing:
        shares = ", ".join(map(str, missing))
        lines[f"merged {count - len(missing)} of {count} shares: share{'s' if len(missing) > 1 else ''} {shares} "
              "missing, so their targets were not audited"] = None
    return tuple(lines)


def _instant(value: str) -> tuple[int, dt.datetime | str]:
    """A timestamp for ordering: parsed when it is one (the shards' clocks may write offsets), else as text after."""
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        return (1, value)
    return (0, parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC))
