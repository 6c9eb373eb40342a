"""What the reports share: the order of statuses, the terminal painter, and the plain-text pieces (remediation, waiver
notes, the read-only attestation) that several formats print."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import TextIO

from ..findings import Digest
from ..gate import decide
from ..model import Attestation, Finding, GateDecision, Remediation, Run, Status, UnusedWaiver
from ..text import visible_line

WORST_FIRST = (Status.FAIL, Status.ERROR, Status.WARN, Status.SKIP, Status.PASS)
COLLAPSE_ABOVE = 10  # more passing findings than this for one check become one line (or a folded list)

_COLORS = {Status.FAIL: "31", Status.WARN: "33", Status.ERROR: "35", Status.PASS: "32", Status.SKIP: "2"}
_BOLD = "1"
_CLIS = frozenset({"az", "azcopy", "curl", "gh", "m365", "pwsh", "powershell", "xtcheck"})
_POWERSHELL = re.compile(r"^[A-Z][a-z]+-[A-Z][A-Za-z]+$")  # Verb-Noun: Connect-MgGraph, Get-MgServicePrincipal


def worst(findings: Sequence[Finding]) -> Status | None:
    """The status that matters most among `findings` (fail, error, warn, skip, pass); None when there are none."""
    statuses = {f.status for f in findings}
    return next((s for s in WORST_FIRST if s in statuses), None)


def gate_of(report: Digest, run: Run) -> GateDecision:
    """The run's gate decision, as the command made it; for a report rendered on its own (a test, the pytest
    plugin), the default one: --fail-on fail, every severity counted."""
    return run.gate or decide(report.full)


def run_identity(run: Run) -> dict[str, str]:
    """What the run audited: the same fields, in the same order, in every report format."""
    return {"environment_url": run.environment_url, "dynamics_tenant": run.dynamics_tenant,
            "exchange_tenant": run.exchange_tenant, "client_id": run.client_id, "profile": run.profile,
            "cloud": run.cloud}


def unused_waiver_lines(waivers: Sequence[UnusedWaiver]) -> list[str]:
    """One line per waiver that matched no finding that is not a pass."""
    return [visible_line(f"unused waiver waivers[{w.index}]: {w.check} {w.subject} ({w.owner}, until {w.expires}) "
                    "matched no finding that is not a pass; remove it") for w in waivers]


def waiver_line(finding: Finding, dash: str = "—") -> str | None:
    """What the waiver on a finding says: applied (with the real status), expired or lapsed; None without one."""
    note = finding.waiver
    if note is None:
        return None
    who = visible_line(f"{note.reason} {dash} {note.owner}")
    if note.state == "applied":
        return f"waived (real: {finding.status.value.upper()}): {who}, until {note.expires}"
    if note.state == "expired":
        return f"waiver expired on {note.expires}, so this counts again: {who}"
    return (f"waiver lapsed, so this counts again: the evidence changed since its fingerprint was taken ({who}, "
            f"until {note.expires}); review it and renew the fingerprint")


def remediation_lines(remediation: Remediation) -> list[str]:
    """Remediation as plain lines: summary, numbered steps, commands (`$ ` for shell ones), links; each one line
    (hidden characters and line breaks from tenant data written visibly)."""
    lines = [remediation.summary]
    lines.extend(f"  {n}. {step}" for n, step in enumerate(remediation.steps, start=1))
    for command in remediation.commands:
        lines.extend(_command_lines(command))
    lines.extend(f"  see {link}" for link in remediation.links)
    return [visible_line(line) for line in lines]


def looks_like_shell(command: str) -> bool:
    """True for `az ...`, `Connect-MgGraph ...` and the like; False for URLs, portal paths and prose."""
    words = command.split()
    if not words or words[0].startswith("$"):
        return False
    return words[0] in _CLIS or bool(_POWERSHELL.match(words[0]))


def _command_lines(command: str) -> Iterator[str]:
    yield f"  $ {command}" if looks_like_shell(command) else f"  {command}"  # one line: visible_line escapes breaks


class Painter:
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


def encodable(text: str, stream: TextIO) -> str:
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


def unicode_ok(stream: TextIO) -> bool:
    encoding = getattr(stream, "encoding", None) or "utf-8"
    try:
        "—→".encode(encoding)
    except (UnicodeEncodeError, LookupError):
        return False
    return True


def grants_writes(role: str) -> bool:
    lowered = role.lower()
    return "write" in lowered or lowered.startswith("full_access")  # full_access_as_app can change any mailbox


def attestation_lines(attestation: Attestation, paint: Painter, *, verbose: bool) -> list[str]:
    """ "read-only: 14 requests (GET 12, POST 2), 0 writes attempted", the roles carried, a warning on write roles."""
    by_method: dict[str, int] = {}
    for key, count in sorted(attestation.requests.items()):
        method = key.split(" ", 1)[0]
        by_method[method] = by_method.get(method, 0) + count
    methods = ", ".join(f"{method} {count}" for method, count in by_method.items())
    total = sum(by_method.values())
    writes = attestation.writes_attempted
    refused = " (refused before leaving the process)" if writes else ""
    lines = [visible_line(f"read-only: {total} requests{f' ({methods})' if methods else ''}, {writes} writes attempted"
                     f"{refused}")]
    if verbose:
        lines.extend(visible_line(f"  {key}: {count}") for key, count in sorted(attestation.requests.items()))
    roles = sorted({role for carried in attestation.token_roles.values() for role in carried})
    if roles:
        tokens = len(attestation.token_roles)
        lines.append(visible_line(f"reader tokens carried ({tokens}): {', '.join(roles)}"))
    writable = [role for role in roles if grants_writes(role)]
    if writable:
        lines.append(paint.status(Status.WARN, visible_line(f"warning: the reader tokens carry write permissions "
                                                       f"({', '.join(writable)}); give xtcheck a read-only "
                                                       "identity")))
    lines.extend(visible_line(line) for line in live_probe_lines(attestation))
    return lines


LIVE_PROBE = ("the sync app's own token (opt-in live sign-in for EXO-003, with app.secret; the app's permissions, "
              "not xtcheck's)")


def live_probe_lines(attestation: Attestation) -> list[str]:
    """The opt-in sign-in as the sync app, said apart from the readers: its roles are the app's (full_access_as_app
    is what sync needs), and xtcheck only reads the token's claims with it."""
    return [f"{LIVE_PROBE}: {key} carried {', '.join(sorted(roles)) or 'no roles'}"
            for key, roles in sorted(attestation.live_probe.items())]
