"""The console report of an estate: the overview first (a line per target, worst first), the environments that
could not be audited with the fix, then each target as the single-target console shows it, the forecast, and the
estate's gate as the last line. `-q` keeps the overview and the gate line: what a person scanning 500 targets needs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TextIO

from ..model import EstateResult, Status, Unreadable
from ..text import visible_line
from .common import Painter, attestation_lines, encodable, unicode_ok, unused_waiver_lines
from .console import TAGS, body_lines, completeness_lines, fold, header_lines, problem_lines, summary_line
from .estate import (
    EstateReport,
    Row,
    TargetReport,
    as_estate_report,
    estate_gate,
    estate_verdict,
    forecast,
    ranked,
    shard_text,
    summary_text,
    unused_waivers,
)
from .forecast import Event


def render_estate_console(estate: EstateResult | EstateReport, stream: TextIO, *, color: bool, quiet: bool,
                          verbose: bool = False, width: int | None = None) -> None:
    """Write the estate's human report to `stream` (colour only when `color`, prose folded at `width`); the last
    line is the estate gate's reason, as in the single-target console."""
    report = as_estate_report(estate)
    paint = Painter(color, unicode_ok(stream))
    pairs = ranked(report)
    rows = [row for row, _ in pairs]
    unused = unused_waivers(report)
    lines = [*_heading(report, rows, paint), *overview_lines(rows, paint)]
    if not quiet:
        lines.extend(unreadable_lines(report.unreadable, paint))
        quiet_ones = 0
        for row, item in pairs:
            if verbose or row.status is not Status.PASS:
                lines.extend(_target_lines(row, item, paint, verbose=verbose))
            else:
                quiet_ones += 1
        if quiet_ones:  # 500 passing targets would be 10,000 lines of passes: the overview says they pass
            lines.extend(["", f"{quiet_ones:,} passing target{'s are' if quiet_ones != 1 else ' is'} not detailed "
                              "here (--verbose details every target; the HTML and JSON reports have them all)"])
        lines.extend(forecast_lines(forecast(report), paint))
        lines.extend(["", *unused_waiver_lines(unused)] if unused else [])
        lines.extend(["", "Completeness", *(f"  {visible_line(s)}" for s in report.completeness)]
                     if report.completeness else [])
        lines.extend(["", *attestation_lines(report.attestation, paint, verbose=verbose)])
    lines.extend(["", estate_gate(report).reason])  # the last line: why the command exits as it does
    if width is not None:
        lines = [folded for line in lines for folded in fold(line, width)]
    stream.write(encodable("\n".join(lines) + "\n", stream))


def _heading(report: EstateReport, rows: Sequence[Row], paint: Painter) -> list[str]:
    outcome = estate_verdict(report)
    shard = shard_text(report.shard)
    return [paint.bold(visible_line(f"xtcheck {report.tool_version} {paint.dash} estate"
                                    f"{f' ({shard})' if shard else ''}")),
            visible_line(f"  run          {report.started} {paint.arrow} {report.finished}"),
            f"  {paint.status(outcome, outcome.value.upper())} {paint.dash} "
            f"{visible_line(summary_text(report, rows))}"]


def overview_lines(rows: Sequence[Row], paint: Painter) -> list[str]:
    """A line per target, worst first: its status, name, environment, profile and tenant B, then what is broken,
    the soonest secret expiry and the mailboxes failing."""
    if not rows:
        return ["", "No target was audited."]
    lines = ["", paint.bold("Overview")]
    for row in rows:
        facts = [f"broken: {row.broken_link}" if row.broken_link else "",
                 f"secret ends {row.soonest_expiry.isoformat()}" if row.soonest_expiry else "",
                 f"{row.mailboxes_failing:,} mailbox{'' if row.mailboxes_failing == 1 else 'es'} failing"
                 if row.mailboxes_failing else ""]
        where = f"{row.environment} · profile {row.profile or '(auto-detected)'} · tenant B " \
                f"{row.exchange_tenant or '(unknown)'}"
        said = f"{row.name} ({where})" + "".join(f" · {fact}" for fact in facts if fact)
        lines.append(f"  {paint.status(row.status, TAGS[row.status])} {visible_line(said)}")
    return lines


def unreadable_lines(unreadable: Sequence[Unreadable], paint: Painter) -> list[str]:
    """Each environment that could not be audited, why, and the fix: an estate never has a silent gap."""
    if not unreadable:
        return []
    lines = ["", paint.bold(f"Not audited ({len(unreadable):,})")]
    for item in unreadable:
        where = f" ({item.environment_url})" if item.environment_url else ""
        lines.append(f"  {paint.status(Status.ERROR, TAGS[Status.ERROR])} "
                     f"{visible_line(f'{item.environment}{where} {paint.dash} {item.reason}')}")
        lines.append(f"       fix: {visible_line(item.fix)}")
    return lines


def _target_lines(row: Row, item: TargetReport, paint: Painter, *, verbose: bool) -> list[str]:
    """One target as the single-target console shows it, under a rule naming it, its gate's reason last."""
    rule = f"{paint.dash * 2} {row.name} {paint.dash * 2}"
    body = body_lines(item.report, paint, verbose=True) if verbose else \
        ["", *problem_lines(item.report, paint, verbose=False)]  # its passes: counted in the summary line below
    return ["", paint.bold(visible_line(rule)), *header_lines(item.run, paint)[1:], *body,
            *completeness_lines(item.run), "", summary_line(item.report, paint), visible_line(item.gate.reason)]


def forecast_lines(events: Sequence[Event], paint: Painter) -> list[str]:
    """The days something breaks, soonest first, with the targets it breaks."""
    if not events:
        return []
    lines = ["", paint.bold("Forecast")]
    for event in events:
        lines.append(f"  {event.day.isoformat()}  {visible_line(event.summary)}")
        lines.append(f"              targets: {visible_line(', '.join(event.targets))}")
    return lines
