"""The estate's JSON report (schemas/estate-report.schema.json): the estate, its summary, overview and forecast
indented, then each target as the single-target report writes it (its run, summary, a line per finding and a line
per check's passing subjects), so `jq '.targets[] | .findings[]'` reads what `jq '.findings[]'` reads of one."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any, TextIO

from ..findings import ordered
from ..model import EstateResult, Status, Target, Unreadable
from ..text import json_visible
from .estate import (
    STATUS_ORDER,
    EstateReport,
    Row,
    TargetReport,
    as_estate_report,
    estate_counts,
    estate_gate,
    estate_verdict,
    forecast,
    overview,
    status_counts,
    unused_waivers,
)
from .forecast import Event
from .jsonreport import (
    SCHEMA_VERSION,
    attestation_object,
    finding_object,
    gate_object,
    passed_by_id,
    passed_object,
    run_object,
    summary_object,
    unused_waiver_objects,
    write_lines,
)

KIND = "estate"
_TARGET_PADS = ("     ", "      ")  # a target's lists and their items, inside the "targets" list
_ONE_LINE = (", ", ": ")


def render_estate_json(estate: EstateResult | EstateReport, stream: TextIO) -> None:
    """Write the estate as one JSON document (UTF-8 text, trailing newline), a line at a time: the document of 500
    targets of 100 mailboxes is never held in memory whole."""
    report = as_estate_report(estate)
    head = json.dumps(_head(report), indent=2, ensure_ascii=False)
    stream.write(json_visible(head[:-2]))  # without the closing "\n}"
    stream.write(',\n  "targets": [')
    for n, item in enumerate(_by_name(report.targets)):
        stream.write(",\n    " if n else "\n    ")
        _write_target(stream, item)
    stream.write("\n  ]" if report.targets else "]")
    stream.write("\n}\n")


def estate_document(estate: EstateResult | EstateReport) -> dict[str, Any]:
    """The estate report as plain data, keys in schema order (what `render_estate_json` writes)."""
    report = as_estate_report(estate)
    return {**_head(report), "targets": [{**_target_head(item), **_target_lists(item)}
                                         for item in _by_name(report.targets)]}


def _by_name(targets: Iterable[TargetReport]) -> list[TargetReport]:
    """By name: the same order whether the estate ran on one machine or was merged from shards."""
    return sorted(targets, key=lambda item: (item.target.name.lower(), item.target.name))


def _head(report: EstateReport) -> dict[str, Any]:
    rows = overview(report)
    return {
        "schema_version": SCHEMA_VERSION,
        "kind": KIND,
        "tool": {"name": "xtcheck", "version": report.tool_version},
        "estate": {
            "started": report.started,
            "finished": report.finished,
            "shard": {"index": report.shard[0], "count": report.shard[1]} if report.shard else None,
            "missing_shards": list(report.missing_shards),
            "completeness": list(report.completeness),
            "attestation": attestation_object(report.attestation),
            "unreadable": [unreadable_object(item) for item in report.unreadable],
            "unused_waivers": unused_waiver_objects(unused_waivers(report)),
        },
        "summary": _summary(report, rows),
        "overview": [row_object(row) for row in rows],
        "forecast": [event_object(event) for event in forecast(report)],
    }


def _summary(report: EstateReport, rows: list[Row]) -> dict[str, Any]:
    gate = estate_gate(report)
    counts, targets = estate_counts(report), status_counts(rows)
    return {
        "verdict": estate_verdict(report).value,
        "exit_code": gate.exit_code,
        "targets": {status.value: targets[status] for status in STATUS_ORDER},
        "unreadable": len(report.unreadable),
        "counts": {status.value: counts[status] for status in Status},
        "gate": gate_object(gate),
    }


def unreadable_object(item: Unreadable) -> dict[str, Any]:
    return {"environment": item.environment, "environment_url": item.environment_url, "reason": item.reason,
            "fix": item.fix}


def target_object(target: Target) -> dict[str, Any]:
    return {"name": target.name, "environment_url": target.environment_url, "profile": target.profile,
            "exchange_tenant": target.exchange_tenant, "client_id": target.client_id,
            "environment": target.environment}


def row_object(row: Row) -> dict[str, Any]:
    return {"target": row.name, "environment": row.environment, "environment_url": row.environment_url,
            "profile": row.profile, "exchange_tenant": row.exchange_tenant, "status": row.status.value,
            "broken_link": row.broken_link,
            "soonest_expiry": row.soonest_expiry.isoformat() if row.soonest_expiry else None,
            "mailboxes_failing": row.mailboxes_failing, "exit_code": row.exit_code}


def event_object(event: Event) -> dict[str, Any]:
    return {"date": event.day.isoformat(), "kind": event.kind, "uid": event.uid, "summary": event.summary,
            "description": event.description, "targets": list(event.targets)}


def _target_head(item: TargetReport) -> dict[str, Any]:
    return {"target": target_object(item.target), "run": run_object(item.run),
            "summary": summary_object(item.report, item.gate)}


def _target_lists(item: TargetReport) -> dict[str, Any]:
    return {"findings": [finding_object(f) for f in ordered(item.report.full)],
            "passed": [passed_object(group) for group in passed_by_id(item.report.passed)]}


def _write_target(stream: TextIO, item: TargetReport) -> None:
    """A target's head on one line, then a line per finding and per check's passing subjects."""
    head = json.dumps(_target_head(item), ensure_ascii=False, separators=_ONE_LINE)
    stream.write(json_visible(head[:-1]))  # without the closing "}"
    write_lines(stream, "findings", (finding_object(f) for f in ordered(item.report.full)), *_TARGET_PADS)
    write_lines(stream, "passed", (passed_object(group) for group in passed_by_id(item.report.passed)),
                *_TARGET_PADS)
    stream.write("}")
