"""The HTML report: one self-contained page (inline CSS and SVG) rendered from a Jinja2 template with autoescape.

What a person must read is there whole; the mailboxes a check passed are counted under the check, and each area
lists its passing mailboxes once, grouped by the checks they passed, as plain text in a folded block (the browser's
find-in-page searches it): a page for 100,000 mailboxes stays a few megabytes and opens at once. The template is
streamed to the file, never held as one string."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import groupby
from typing import TYPE_CHECKING, Any, TextIO

import markupsafe  # light; jinja2 itself is imported when an HTML report is asked for

from ..findings import Digest, Passed, as_digest, compact, fingerprint, jsonable, ordered
from ..gate import verdict
from ..model import AREAS, LINKS, Attestation, Finding, Remediation, Run, Status
from ..text import one_line, visible
from .common import (
    COLLAPSE_ABOVE,
    LIVE_PROBE,
    WORST_FIRST,
    gate_of,
    grants_writes,
    looks_like_shell,
    unused_waiver_lines,
    waiver_line,
    worst,
)

LABEL_CHARS = 23  # longer names are cut in the chain's boxes; the node's <title> keeps them whole
_GUID = re.compile(r"\b([0-9a-f]{8})-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", re.IGNORECASE)


@dataclass(frozen=True)
class Link:
    """One box of the chain, as drawn; the checks in it are those whose `link` is its key."""

    key: str  # one of model.LINKS
    lines: tuple[str, ...]  # the label as drawn, one or two lines
    where: str


CHAIN = (
    Link("profile", ("Environment", "& email profile"), "tenant A · Dynamics"),
    Link("app", ("App registration",), "the app's home tenant"),
    Link("consent", ("Service principal", "& consents"), "tenant B"),
    Link("exchange", ("Exchange Online",), "tenant B"),
    Link("mailboxes", ("Mailboxes",), "Dynamics ↔ Exchange"),
)
assert tuple(link.key for link in CHAIN) == LINKS, "every link of the chain is drawn, in its order"


if TYPE_CHECKING:
    import jinja2


@functools.cache
def templates() -> jinja2.Environment:
    import jinja2  # only an HTML report needs it: not every command pays the import

    return jinja2.Environment(
        loader=jinja2.PackageLoader("checks.report", "templates"), autoescape=True, finalize=_finalize,
        undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
    )


def _finalize(value: Any) -> Any:
    """Every value the template prints: hidden characters from tenant data written visibly (before autoescape);
    markup the template made itself (a macro's output) stays as it is."""
    if isinstance(value, str) and not isinstance(value, markupsafe.Markup):
        return visible(value)
    return value


def render_html(findings: Digest | Iterable[Finding], run: Run, stream: TextIO) -> None:
    """Write the report as one HTML document that needs nothing else: no scripts, no external assets."""
    stream.writelines(templates().get_template("report.html.j2").generate(page(findings, run)))


def page(findings: Digest | Iterable[Finding], run: Run) -> dict[str, Any]:
    """Everything the template shows, as plain data: it decides the markup, this decides the content."""
    report = as_digest(findings)
    counts = report.counts  # real statuses, as the console counts them; the verdict leaves waived ones out
    return {
        "run": run,
        "names": dict(run.names),
        "verdict": verdict(report.full).value,
        "gate": gate_of(report, run).reason,
        "counts": [(status.value, counts[status]) for status in Status],
        "waived": report.waived,
        "unused_waivers": unused_waiver_lines(run.unused_waivers),
        "total": report.total,
        "chain": [_node(link, mine, passing, _detail(link, mine, passing, run))
                  for link, mine, passing in _by_link(report, run)],
        "areas": _areas(report),
        "attestation": attestation_view(run.attestation),
    }


def _by_link(report: Digest, run: Run) -> list[tuple[Link, list[Finding], list[Passed]]]:
    """Each box with the findings and passes of the checks that guard it (a check the run does not describe guards
    none)."""
    links = {spec.id: spec.link for spec in run.checks}
    return [(link, [f for f in report.full if links.get(f.check_id) == link.key],
             [group for check_id, group in report.passed.items() if links.get(check_id) == link.key])
            for link in CHAIN]


def _node(link: Link, findings: Sequence[Finding], passing: Sequence[Passed], detail: str) -> dict[str, Any]:
    mine = ordered(findings)
    gated = [f for f in mine if not f.waived]
    attention = [f for f in gated if f.status is not Status.PASS]
    areas = [f.area for f in mine] + [group.area for group in passing]
    target = f"check-{attention_first(attention).check_id}" if attention else f"area-{areas[0]}" if areas else ""
    total = len(mine) + sum(len(group) for group in passing)
    return {
        "key": link.key, "label": " ".join(link.lines), "lines": link.lines, "where": link.where,
        "detail": detail, "short": _cut(detail),
        "status": _status_class(mine, bool(passing)),
        "findings": total, "attention": len(attention), "waived": len(mine) - len(gated),
        "href": f"#{target}" if target else None,
        "checks": sorted({f.check_id for f in mine} | {group.check_id for group in passing}),
    }


def _detail(link: Link, findings: Sequence[Finding], passing: Sequence[Passed], run: Run) -> str:
    """The second line of a box: which profile, app or tenant it is about."""
    names = run.names
    if link.key == "profile":
        return run.profile or "profile auto-detected"
    if link.key == "app":
        return names.get("app") or (f"client {run.client_id}" if run.client_id else "app from the profile")
    if link.key == "consent":
        return names.get("exchange_tenant") or f"tenant {run.exchange_tenant}"
    if link.key == "exchange":
        return "mailbox access and EWS"
    mailboxes = {f.subject for f in findings}
    for group in passing:
        mailboxes.update(group.subjects)
    return f"{len(mailboxes):,} mailbox{'' if len(mailboxes) == 1 else 'es'}"


def _cut(text: str) -> str:
    """What fits in a box: GUIDs as their first 8 digits (the header and the <title> have them whole)."""
    text = _GUID.sub(r"\1…", text)
    return text if len(text) <= LABEL_CHARS else text[:LABEL_CHARS - 1].rstrip() + "…"


def _status_class(findings: Sequence[Finding], passes: bool = False) -> str:
    """The worst status outside the gate's waivers (`passes`: passing mailboxes besides `findings`); "waived" when
    every finding is waived, "none" when none ran."""
    status = worst([f for f in findings if not f.waived])
    if status is None and passes:
        return Status.PASS.value
    if not findings:
        return "none"
    return status.value if status else "waived"


def attention_first(findings: Sequence[Finding]) -> Finding:
    """The finding a box or a `blocked by` should lead to: the worst, then the first in report order."""
    rank = {status: n for n, status in enumerate(WORST_FIRST)}
    return min(ordered(findings), key=lambda f: rank[f.status])


Anchored = tuple[str, Finding]  # a finding and its id in the page


def _checks(findings: Sequence[Finding]) -> dict[str, list[Anchored]]:
    """Each check's findings in report order, with ids `finding-APP-001-<n>` (n counts from 1 within the check)."""
    groups: dict[str, list[Anchored]] = {}
    for finding in findings:
        group = groups.setdefault(finding.check_id, [])
        group.append((f"finding-{finding.check_id}-{len(group) + 1}", finding))
    return groups


def _areas(report: Digest) -> list[dict[str, Any]]:
    groups = _checks(report.full)
    roots = {}  # where `blocked by X` points: X's worst finding, so a skip leads straight to its root cause
    for check_id, group in groups.items():
        lead = attention_first([f for _, f in group])
        roots[check_id] = next(anchor for anchor, f in group if f is lead)
    areas = []
    for area, ids in groupby(report.check_ids(), key=lambda check_id: check_id.split("-")[0]):
        checks = [_check(check_id, groups.get(check_id, []), report.passed.get(check_id), roots) for check_id in ids]
        members = [f for f in report.full if f.area == area]
        passing = [group for group in report.passed.values() if group.area == area]
        attention = [f for f in members if f.status is not Status.PASS and not f.waived]
        areas.append({"area": area, "heading": AREAS.get(area, area), "checks": checks,
                      "status": _status_class(members, bool(passing)), "attention": len(attention),
                      "passing": _passing_lists(passing), "passing_heading": f"Passing {_noun(area, 2)}"})
    return areas


def _check(check_id: str, group: list[Anchored], brief: Passed | None,
           roots: Mapping[str, str]) -> dict[str, Any]:
    title, severity = (group[0][1].title, group[0][1].severity) if group or brief is None else \
        (brief.title, brief.severity)
    passes = [(anchor, f) for anchor, f in group if f.status is Status.PASS and f.waiver is None]
    attention = [(anchor, f) for anchor, f in group if not (f.status is Status.PASS and f.waiver is None)]
    collapse = len(passes) > COLLAPSE_ABOVE  # what needs reading comes first, then the passes, each in report order
    return {
        "id": check_id, "title": title, "severity": severity.value,
        "status": _status_class([f for _, f in group], brief is not None),
        "findings": [_finding(anchor, f, roots) for anchor, f in (attention if collapse else attention + passes)],
        "collapsed": [_finding(anchor, f, roots) for anchor, f in passes] if collapse else [],
        "passing": f"{len(brief):,}" if brief else "",
        "passing_noun": _noun(check_id.split("-", maxsplit=1)[0], len(brief)) if brief else "",
    }


def _noun(area: str, count: int) -> str:
    if area == "MBX":
        return "mailbox" if count == 1 else "mailboxes"
    return "subject" if count == 1 else "subjects"


def _passing_lists(groups: Sequence[Passed]) -> list[dict[str, Any]]:
    """An area's passing mailboxes, each once: grouped by the checks it passed (nearly always one group, every check
    of the area), as text with a subject per line. Exact: a mailbox another check failed or skipped is in a group
    that does not name that check."""
    if not groups:
        return []
    passed: dict[str, int] = {}
    for bit, group in enumerate(groups):
        for subject in group.subjects:
            passed[subject] = passed.get(subject, 0) | 1 << bit
    by_checks: dict[int, list[str]] = {}
    for subject, mask in passed.items():
        by_checks.setdefault(mask, []).append(subject)
    lists = []
    for mask, subjects in sorted(by_checks.items(), key=lambda item: (-len(item[1]), item[0])):
        subjects.sort(key=lambda subject: (subject.lower(), subject))
        checks = [group.check_id for bit, group in enumerate(groups) if mask >> bit & 1]
        lists.append({"checks": checks, "count": f"{len(subjects):,}", "text": "\n".join(map(one_line, subjects)),
                      "noun": _noun(groups[0].area, len(subjects))})
    return lists


def _finding(anchor: str, finding: Finding, roots: Mapping[str, str]) -> dict[str, Any]:
    blocked = finding.blocked_by or ""
    return {
        "anchor": anchor, "status": finding.status.value, "severity": finding.severity.value,
        "subject": finding.subject, "message": finding.message, "evidence": _evidence(finding.evidence),
        "remediation": _remediation(finding.remediation) if finding.status is not Status.PASS else None,
        "blocked_by": blocked, "blocked_href": f"#{roots[blocked]}" if blocked in roots else "",
        "waiver": waiver_line(finding) or "", "waiver_state": finding.waiver.state if finding.waiver else "",
        "waived": finding.waived, "fingerprint": fingerprint(finding) if finding.status is not Status.PASS else "",
    }


def _evidence(evidence: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Evidence as rows: a string as it is, a list one compact JSON item per line, anything else compact JSON."""
    rows = []
    for key, value in jsonable(evidence).items():
        if isinstance(value, str):
            text = value
        elif isinstance(value, list) and value:
            text = "\n".join(compact(item) for item in value)
        else:
            text = compact(value)
        rows.append({"key": key, "text": text, "block": isinstance(value, list) and bool(value)})
    return rows


def _remediation(remediation: Remediation | None) -> dict[str, Any] | None:
    if remediation is None:
        return None
    commands = [{"text": c, "shell": looks_like_shell(c), "url": _is_url(c)} for c in remediation.commands]
    links = [{"text": link, "url": _is_url(link)} for link in remediation.links]
    return {"summary": remediation.summary, "steps": list(remediation.steps), "commands": commands, "links": links}


def _is_url(text: str) -> bool:
    """Only plain web addresses become links (never javascript: or data: from anywhere)."""
    return text.startswith(("https://", "http://")) and not any(c.isspace() for c in text)


def attestation_view(attestation: Attestation) -> dict[str, Any]:
    """The read-only attestation as the templates show it (a run's, or an estate's)."""
    by_method: dict[str, int] = {}
    for key, count in sorted(attestation.requests.items()):
        method = key.split(" ", 1)[0]
        by_method[method] = by_method.get(method, 0) + count
    roles = sorted({role for carried in attestation.token_roles.values() for role in carried})
    return {
        "total": sum(by_method.values()), "by_method": sorted(by_method.items()),
        "requests": [(*key.partition(" ")[::2], count) for key, count in sorted(attestation.requests.items())],
        "writes": attestation.writes_attempted,
        "tokens": [(key, sorted(carried)) for key, carried in sorted(attestation.token_roles.items())],
        "roles": roles, "write_roles": [role for role in roles if grants_writes(role)],
        "live_probe": [(key, sorted(carried)) for key, carried in sorted(attestation.live_probe.items())],
        "live_probe_label": LIVE_PROBE,
    }
