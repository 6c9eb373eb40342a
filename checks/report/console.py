"""The console report: findings grouped by area, remediation under what is not a pass, attestation and summary."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from itertools import groupby
from typing import TextIO

from ..model import Attestation, Finding, Remediation, Run, Status, UnusedWaiver, summarize, verdict
from .jsonreport import compact, fingerprint, ordered
from .text import visible

AREAS: dict[str, str] = {
    "APP": "App registration",
    "EXO": "Exchange Online tenant",
    "GRA": "Microsoft Graph",
    "EWS": "Exchange Web Services",
    "PRF": "Email server profile",
    "MBX": "Mailboxes",
}
TAGS: dict[Status, str] = {
    Status.PASS: "PASS", Status.FAIL: "FAIL", Status.WARN: "WARN", Status.ERROR: "ERR ", Status.SKIP: "SKIP",
}
COLLAPSE_ABOVE = 10  # more passing findings than this for one check become one line unless verbose

_COLORS = {Status.FAIL: "31", Status.WARN: "33", Status.ERROR: "35", Status.PASS: "32", Status.SKIP: "2"}
_WAIVED = ("36", "WAIVED")  # colour and tag of a finding under an applied waiver (its real status is shown below)
_BOLD = "1"
_INDENT = " " * 7  # under the finding's text, past "  TAG "
_CLIS = frozenset({"az", "azcopy", "curl", "gh", "m365", "pwsh", "powershell", "xtcheck"})
_POWERSHELL = re.compile(r"^[A-Z][a-z]+-[A-Z][A-Za-z]+$")  # Verb-Noun: Connect-MgGraph, Get-MgServicePrincipal


def area_rank(area: str) -> tuple[int, str]:
    """Known areas in the report's order, unknown ones after them by name."""
    keys = list(AREAS)
    return (keys.index(area), "") if area in keys else (len(keys), area)


def by_area(findings: Sequence[Finding]) -> list[Finding]:
    """Findings in report order: by area (see `area_rank`), then by check id and subject."""
    return sorted(ordered(findings), key=lambda f: area_rank(f.area))  # sorted is stable: keeps id/subject order


def render_console(findings: Sequence[Finding], run: Run, stream: TextIO, *, color: bool, quiet: bool,
                   verbose: bool = False) -> None:
    """Write the human report to `stream`; ANSI colour only when `color`, never wrapping or truncating."""
    paint = _Painter(color, _unicode_ok(stream))
    lines: list[str] = []
    if quiet:
        for finding in by_area([f for f in findings if f.status is not Status.PASS]):
            lines.extend(_finding_lines(finding, paint, verbose=verbose))
        lines.extend(unused_waiver_lines(run.unused_waivers))
        lines.extend([""] if lines else [])
    else:
        lines.extend(_header(run, paint))
        lines.extend(_body(findings, paint, verbose=verbose))
        lines.extend(["", *unused_waiver_lines(run.unused_waivers)] if run.unused_waivers else [])
        lines.extend(_completeness(run))
        lines.extend(["", *_attestation(run.attestation, paint, verbose=verbose)])
        lines.append("")
    lines.append(summary_line(findings, paint))
    stream.write(_encodable("\n".join(lines) + "\n", stream))


def summary_line(findings: Sequence[Finding], paint: _Painter | None = None) -> str:
    """ "FAIL — 15 pass, 2 fail, 1 warn, 0 error, 3 skip" (", 1 waived" when waivers took findings out of the gate;
    the counts are real statuses)."""
    paint = paint or _Painter(color=False, unicode=True)
    counts = summarize(findings)
    outcome = verdict(findings)
    tally = ", ".join(f"{counts[status]} {status.value}" for status in Status)
    waived = sum(1 for f in findings if f.waiver is not None and f.waived)
    tally += f", {waived} waived" if waived else ""
    return f"{paint.status(outcome, outcome.value.upper())} {paint.dash} {tally}"


def unused_waiver_lines(waivers: Sequence[UnusedWaiver]) -> list[str]:
    """One line per waiver that matched no finding that is not a pass."""
    return [visible(f"unused waiver waivers[{w.index}]: {w.check} {w.subject} ({w.owner}, until {w.expires}) "
                    "matched no finding that is not a pass; remove it") for w in waivers]


def waiver_line(finding: Finding, dash: str = "—") -> str | None:
    """What the waiver on a finding says: applied (with the real status), expired or lapsed; None without one."""
    note = finding.waiver
    if note is None:
        return None
    who = visible(f"{note.reason} {dash} {note.owner}")
    if note.state == "applied":
        return f"waived (real: {finding.status.value.upper()}): {who}, until {note.expires}"
    if note.state == "expired":
        return f"waiver expired on {note.expires}, so this counts again: {who}"
    return (f"waiver lapsed, so this counts again: the evidence changed since its fingerprint was taken ({who}, "
            f"until {note.expires}); review it and renew the fingerprint")


def remediation_lines(remediation: Remediation) -> list[str]:
    """Remediation as plain lines: summary, numbered steps, commands (`$ ` for shell ones), links (hidden characters
    from tenant data written visibly)."""
    lines = [remediation.summary]
    lines.extend(f"  {n}. {step}" for n, step in enumerate(remediation.steps, start=1))
    for command in remediation.commands:
        lines.extend(_command_lines(command))
    lines.extend(f"  see {link}" for link in remediation.links)
    return [visible(line) for line in lines]


def looks_like_shell(command: str) -> bool:
    """True for `az ...`, `Connect-MgGraph ...` and the like; False for URLs, portal paths and prose."""
    words = command.split()
    if not words or words[0].startswith("$"):
        return False
    return words[0] in _CLIS or bool(_POWERSHELL.match(words[0]))


def _command_lines(command: str) -> Iterator[str]:
    first, *rest = command.splitlines() or [""]
    yield f"  $ {first}" if looks_like_shell(command) else f"  {first}"
    for line in rest:
        yield f"    {line}"


class _Painter:
    """ANSI escapes when colour is on, nothing otherwise; plain-ASCII glyphs for streams that cannot encode more."""

    def __init__(self, color: bool, unicode: bool) -> None:
        self.color = color
        self.dash = "—" if unicode else "-"
        self.arrow = "→" if unicode else "->"

    def paint(self, code: str, text: str) -> str:
        return f"\x1b[{code}m{text}\x1b[0m" if self.color else text

    def status(self, status: Status, text: str) -> str:
        return self.paint(_COLORS[status], text)

    def bold(self, text: str) -> str:
        return self.paint(_BOLD, text)


def _encodable(text: str, stream: TextIO) -> str:
    """`text` as the stream can encode it: a name in a script the console's code page lacks (an emoji, CJK on
    cp1252 when the output is redirected on Windows) becomes a backslash escape instead of a crash."""
    encoding = getattr(stream, "encoding", None) or "utf-8"
    try:
        text.encode(encoding)
    except UnicodeEncodeError:
        return text.encode(encoding, "backslashreplace").decode(encoding)
    except LookupError:
        pass
    return text


def _unicode_ok(stream: TextIO) -> bool:
    encoding = getattr(stream, "encoding", None) or "utf-8"
    try:
        "—→".encode(encoding)
    except (UnicodeEncodeError, LookupError):
        return False
    return True


def _header(run: Run, paint: _Painter) -> list[str]:
    return [
        paint.bold(visible(f"xtcheck {run.tool_version}")),
        visible(f"  environment  {run.environment_url} (cloud: {run.cloud})"),
        visible(f"  tenants      {run.dynamics_tenant} (Dynamics, tenant A) {paint.arrow} "
                f"{run.exchange_tenant} (Exchange Online, tenant B)"),
        visible(f"  app          {run.client_id or '(taken from the profile)'}"),
        visible(f"  profile      {run.profile or '(auto-detected)'}"),
        visible(f"  run          {run.started} {paint.arrow} {run.finished}"),
    ]


def _body(findings: Sequence[Finding], paint: _Painter, *, verbose: bool) -> list[str]:
    if not findings:
        return ["", "No checks ran."]
    lines: list[str] = []
    for area, group in groupby(by_area(findings), key=lambda f: f.area):
        lines.extend(["", paint.bold(visible(AREAS.get(area, area)))])
        for _, check in groupby(group, key=lambda f: f.check_id):
            lines.extend(_check_lines(list(check), paint, verbose=verbose))
    return lines


def _check_lines(findings: list[Finding], paint: _Painter, *, verbose: bool) -> list[str]:
    passes = [f for f in findings if f.status is Status.PASS]
    collapse = not verbose and len(passes) > COLLAPSE_ABOVE
    lines: list[str] = []
    if collapse:
        first = passes[0]
        lines.append(f"  {paint.status(Status.PASS, TAGS[Status.PASS])} {visible(first.check_id)}  "
                     f"{len(passes)} passing {paint.dash} {visible(first.title)} (--verbose lists each)")
    for finding in findings:
        if not (collapse and finding.status is Status.PASS):
            lines.extend(_finding_lines(finding, paint, verbose=verbose))
    return lines


def _finding_lines(finding: Finding, paint: _Painter, *, verbose: bool) -> list[str]:
    tag = paint.paint(*_WAIVED) if finding.waived else paint.status(finding.status, TAGS[finding.status])
    lines = [f"  {tag} {visible(f'{finding.check_id}  {finding.subject} {paint.dash} {finding.message}')}"]
    if finding.status is Status.PASS:
        return lines
    waiver = waiver_line(finding, paint.dash)
    if waiver is not None:
        lines.append(f"{_INDENT}{waiver}")
    if finding.blocked_by:
        lines.append(f"{_INDENT}blocked by {visible(finding.blocked_by)}")
    if finding.remediation is not None:
        first, *rest = remediation_lines(finding.remediation)
        lines.append(f"{_INDENT}fix: {first}")
        lines.extend(f"{_INDENT}{line}" for line in rest)
    if verbose and finding.evidence:
        lines.append(f"{_INDENT}evidence: {visible(compact(finding.evidence))}")
    if verbose:
        lines.append(f"{_INDENT}fingerprint: {fingerprint(finding)}")
    return lines


def _grants_writes(role: str) -> bool:
    lowered = role.lower()
    return "write" in lowered or lowered.startswith("full_access")  # full_access_as_app can change any mailbox


def _completeness(run: Run) -> list[str]:
    if not run.completeness:
        return []
    return ["", "Completeness", *(f"  {visible(statement)}" for statement in run.completeness)]


def _attestation(attestation: Attestation, paint: _Painter, *, verbose: bool) -> list[str]:
    """ "read-only: 14 requests (GET 12, POST 2), 0 writes attempted", the roles carried, a warning on write roles."""
    by_method: dict[str, int] = {}
    for key, count in sorted(attestation.requests.items()):
        method = key.split(" ", 1)[0]
        by_method[method] = by_method.get(method, 0) + count
    methods = ", ".join(f"{method} {count}" for method, count in by_method.items())
    total = sum(by_method.values())
    writes = attestation.writes_attempted
    refused = " (refused before leaving the process)" if writes else ""
    lines = [visible(f"read-only: {total} requests{f' ({methods})' if methods else ''}, {writes} writes attempted"
                     f"{refused}")]
    if verbose:
        lines.extend(visible(f"  {key}: {count}") for key, count in sorted(attestation.requests.items()))
    roles = sorted({role for carried in attestation.token_roles.values() for role in carried})
    if roles:
        tokens = len(attestation.token_roles)
        lines.append(visible(f"reader tokens carried ({tokens}): {', '.join(roles)}"))
    writable = [role for role in roles if _grants_writes(role)]
    if writable:
        lines.append(paint.status(Status.WARN, visible(f"warning: the reader tokens carry write permissions "
                                                       f"({', '.join(writable)}); give xtcheck a read-only "
                                                       "identity")))
    return lines
