"""The Markdown summary, for CI step summaries ($GITHUB_STEP_SUMMARY) and pull-request comments.

Layout: a heading with the verdict and the counts, one line of context (environment, tenant A -> tenant B, app,
profile), a table with one row per check (its worst status as a text badge such as **FAIL**), "What to fix"
(every finding that is not a pass and not waived, with its remediation), the waived findings with reason, owner
and expiry, then completeness and the read-only attestation.

Everything that comes from a tenant (subjects, messages, names, remediation text built from them) is escaped:
Markdown punctuation is backslash-escaped, line breaks become spaces in inline text, and commands go into fences
longer than any backtick run they contain, so no data can open a link, close a table cell or leave a code block.
An applied waiver takes a finding out of the verdict and the counts, as in the HTML report; it stays listed.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TextIO

from ..files import append_text
from ..findings import Digest, as_digest
from ..gate import verdict
from ..model import Finding, Remediation, Run, Status
from .common import Painter, attestation_lines, gate_of, worst
from .mdtext import URL, cell, fence, inline, paragraph

LISTED_SUBJECTS = 3  # the table names this many subjects that do not pass, then "and N more"


def render_markdown(findings: Digest | Iterable[Finding], run: Run, stream: TextIO) -> None:
    """Write the summary as GitHub-flavoured Markdown (UTF-8 text, deterministic for the same input)."""
    report = as_digest(findings)
    blocks = [_heading(report), _context(run), f"**Exit:** {inline(gate_of(report, run).reason)}", _table(report),
              *_to_fix(report.full), *_waived(report.full), _footer(run)]
    stream.write("\n\n".join(block for block in blocks if block) + "\n")


def markdown_summary(findings: Digest | Iterable[Finding], run: Run) -> str:
    """The summary as one string."""
    stream = io.StringIO()
    render_markdown(findings, run, stream)
    return stream.getvalue()


def write_step_summary(findings: Digest | Iterable[Finding], run: Run, path: Path) -> None:
    """Append the summary to `path` (GitHub's $GITHUB_STEP_SUMMARY: each step appends to the same file).

    What is already in the file stays; a blank line separates this summary from it. Only a regular file (or none
    yet) is written: a device or FIFO there is files.NotRegularFile, before anything is opened. OSError propagates.
    """
    summary = markdown_summary(findings, run)
    append_text(path, lambda ending: separated(ending, summary))


def separated(ending: bytes, text: str) -> str:
    """`text` with the line breaks that put a blank line between it and a file ending in `ending` (its last bytes)."""
    if not ending:
        return text
    return ("" if ending.endswith(b"\n\n") else "\n" if ending.endswith(b"\n") else "\n\n") + text


# -- blocks -----------------------------------------------------------------------------------------------------


def _gated(findings: Iterable[Finding]) -> list[Finding]:
    return [f for f in findings if not f.waived]


def _heading(report: Digest) -> str:
    counts = dict(report.counts)
    waived = [f for f in report.full if f.waived]
    for finding in waived:  # counted as waived, not under their real status
        counts[finding.status] -= 1
    tally = ", ".join(f"{counts[status]} {status.value}" for status in Status)
    extra = f", {len(waived)} waived" if waived else ""
    return f"## xtcheck: {verdict(report.full).value.upper()} — {tally}{extra}"


def _context(run: Run) -> str:
    def named(key: str, value: str, fallback: str) -> str:
        name = run.names.get(key, "")
        if not value:
            return fallback
        return f"{inline(name)} ({inline(value)})" if name and name != value else inline(value)

    environment = named("environment", run.environment_url, "(no environment)")
    tenant_a = named("dynamics_tenant", run.dynamics_tenant, "(unknown)")
    tenant_b = named("exchange_tenant", run.exchange_tenant, "(unknown)")
    app = named("app", run.client_id, "(taken from the profile)")
    profile = inline(run.profile) if run.profile else "(auto-detected)"
    cloud = f", cloud {inline(run.cloud)}" if run.cloud else ""
    return (f"**Environment** {environment} · **tenant A** {tenant_a} → **tenant B** {tenant_b} · "
            f"**app** {app} · **profile** {profile}{cloud} · xtcheck {inline(run.tool_version)}")


def _table(report: Digest) -> str:
    if not report.total:
        return "No checks ran."
    rows = ["| Check | Title | Status | Subjects | Not passing |", "|---|---|---|---:|---|"]
    by_check: dict[str, list[Finding]] = {}
    for finding in report.full:
        by_check.setdefault(finding.check_id, []).append(finding)
    for check_id in report.check_ids():
        check, passing = by_check.get(check_id, []), report.passed.get(check_id)
        gated = _gated(check)
        status = f"**{worst(gated) or Status.PASS}**".upper() if gated or passing else "**WAIVED**"
        waived = len(check) - len(gated)
        if waived and (gated or passing):
            status += f" ({waived} waived)"
        subjects = {f.subject for f in check}
        subjects.update(passing.subjects if passing else ())
        title = check[0].title if check else passing.title if passing else check_id
        rows.append(f"| {cell(check_id)} | {cell(title)} | {status} | {len(subjects):,} | {_not_passing(gated)} |")
    return "\n".join(rows)


def _not_passing(findings: Sequence[Finding]) -> str:
    subjects = list(dict.fromkeys(f.subject for f in findings if f.status is not Status.PASS))
    if not subjects:
        return " "
    named = ", ".join(cell(subject) for subject in subjects[:LISTED_SUBJECTS])
    more = len(subjects) - LISTED_SUBJECTS
    return f"{named} and {more} more" if more > 0 else named


def _to_fix(findings: Sequence[Finding]) -> list[str]:
    open_ = [f for f in findings if f.status is not Status.PASS and not f.waived]  # in report order already
    if not open_:
        return []
    blocks = ["### What to fix"]
    for finding in open_:
        blocks.extend(_finding_blocks(finding))
    return blocks


def _finding_blocks(finding: Finding) -> list[str]:
    blocks = [f"#### **{finding.status.value.upper()}** {inline(finding.check_id)} · {inline(finding.subject)}",
              paragraph(finding.message) or "(no message)"]
    notes = []
    if finding.blocked_by:
        notes.append(f"Blocked by {inline(finding.blocked_by)}.")
    if finding.waiver is not None:  # not applied: it no longer covers this finding
        waiver = finding.waiver
        notes.append(f"A waiver matched but is {inline(waiver.state)} (owner {inline(waiver.owner)}, "
                     f"expiry {inline(waiver.expires)}): {inline(waiver.reason)}")
    if notes:
        blocks.append(" ".join(notes))
    if finding.remediation is not None:
        blocks.extend(_remediation_blocks(finding.remediation))
    return blocks


def _remediation_blocks(remediation: Remediation) -> list[str]:
    blocks = [f"**Fix:** {inline(remediation.summary)}"]
    if remediation.steps:
        blocks.append("\n".join(f"{n}. {paragraph(step)}" for n, step in enumerate(remediation.steps, start=1)))
    blocks.extend(fence(command) for command in remediation.commands)
    if remediation.links:
        blocks.append("\n".join(f"- {_link(link)}" for link in remediation.links))
    return blocks


def _link(url: str) -> str:
    """An autolink when `url` is one plain URL, else the text escaped."""
    return f"<{url}>" if URL.fullmatch(url) else inline(url)


def _waived(findings: Sequence[Finding]) -> list[str]:
    lines = []
    for finding in findings:  # in report order already
        note = finding.waiver
        if note is None or not finding.waived:
            continue
        lines.append(f"- **{finding.status.value.upper()}** {inline(finding.check_id)} · {inline(finding.subject)}: "
                     f"{inline(finding.message)} — waived by {inline(note.owner)} until {inline(note.expires)}: "
                     f"{inline(note.reason)}")
    return ["### Waived", "\n".join(lines)] if lines else []


def _footer(run: Run) -> str:
    completeness = "; ".join(inline(statement) for statement in run.completeness) or "not reported"
    lines = attestation_lines(run.attestation, Painter(color=False, unicode=True), verbose=False)
    attestation = "; ".join(inline(line.removeprefix("read-only: ")) for line in lines)
    return f"**Completeness:** {completeness}\n\n**Read-only:** {attestation}"
