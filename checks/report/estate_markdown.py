"""The Markdown summary of an estate, for CI step summaries ($GITHUB_STEP_SUMMARY) and pull-request comments: a
heading with the estate's verdict and how many targets are at each status, the gate's reason, the overview (a row
per target, worst first), the environments that could not be audited with the fix, and the forecast. Each target's
findings are in the other formats: a summary of 500 targets stays a page.

Everything from a tenant (target and environment names, reasons, fixes, secret names) is escaped as in the
single-target summary (checks/report/mdtext.py): no data can open a link, close a table cell or start a block."""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from ..files import append_text
from ..model import EstateResult, Unreadable
from .estate import (
    EstateReport,
    Row,
    as_estate_report,
    estate_gate,
    estate_verdict,
    forecast,
    overview,
    shard_text,
    summary_text,
)
from .forecast import Event
from .markdown import separated
from .mdtext import cell, inline

LINK_WORDS = {"profile": "email profile", "app": "app registration", "consent": "consent in tenant B",
              "exchange": "Exchange Online", "mailboxes": "mailboxes"}


def render_estate_markdown(estate: EstateResult | EstateReport, stream: TextIO) -> None:
    """Write the estate's summary as GitHub-flavoured Markdown (UTF-8 text, deterministic for the same input)."""
    report = as_estate_report(estate)
    rows = overview(report)
    shard = shard_text(report.shard)
    blocks = [f"## xtcheck estate: {estate_verdict(report).value.upper()} — {inline(summary_text(report, rows))}",
              f"xtcheck {inline(report.tool_version)} · run {inline(report.started)} → {inline(report.finished)}"
              + (f" · {shard}" if shard else ""),
              f"**Exit:** {inline(estate_gate(report).reason)}",
              overview_table(rows), *unreadable_blocks(report.unreadable), *forecast_blocks(forecast(report)),
              _completeness(report)]
    stream.write("\n\n".join(block for block in blocks if block) + "\n")


def estate_markdown_summary(estate: EstateResult | EstateReport) -> str:
    """The summary as one string."""
    stream = io.StringIO()
    render_estate_markdown(estate, stream)
    return stream.getvalue()


def write_estate_step_summary(estate: EstateResult | EstateReport, path: Path) -> None:
    """Append the summary to `path` (GitHub's $GITHUB_STEP_SUMMARY), a blank line after what is there; only a
    regular file (or none yet) is written. OSError propagates."""
    summary = estate_markdown_summary(estate)
    append_text(path, lambda ending: separated(ending, summary))


def overview_table(rows: Sequence[Row]) -> str:
    """A row per target, worst first."""
    if not rows:
        return "No target was audited."
    lines = ["| Status | Target | Environment | Profile | Tenant B | Broken link | Secret ends | Mailboxes failing |",
             "|---|---|---|---|---|---|---|---:|"]
    for row in rows:
        broken = LINK_WORDS.get(row.broken_link, row.broken_link) if row.broken_link else " "
        expiry = row.soonest_expiry.isoformat() if row.soonest_expiry else " "
        lines.append(f"| **{row.status.value.upper()}** | {cell(row.name)} | {cell(row.environment)} | "
                     f"{cell(row.profile)} | {cell(row.exchange_tenant)} | {cell(broken)} | {expiry} | "
                     f"{row.mailboxes_failing:,} |")
    return "\n".join(lines)


def unreadable_blocks(unreadable: Sequence[Unreadable]) -> list[str]:
    if not unreadable:
        return []
    lines = [f"- **NOT AUDITED** {inline(item.environment)}"
             + (f" ({inline(item.environment_url)})" if item.environment_url else "")
             + f": {inline(item.reason)} — **Fix:** {inline(item.fix)}" for item in unreadable]
    return ["### Environments not audited", "\n".join(lines)]


def forecast_blocks(events: Sequence[Event]) -> list[str]:
    if not events:
        return []
    lines = ["| Date | What breaks | Targets |", "|---|---|---|"]
    lines.extend(f"| {event.day.isoformat()} | {cell(event.summary)} | {cell(', '.join(event.targets))} |"
                 for event in events)
    return ["### Forecast", "\n".join(lines)]


def _completeness(report: EstateReport) -> str:
    return "**Completeness:** " + ("; ".join(inline(statement) for statement in report.completeness) or
                                   "not reported")
