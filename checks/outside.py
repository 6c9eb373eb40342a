"""What came from outside (tenant data, a server's words) as xtcheck keeps it once it is a finding, a report field
or a run's name: secrets and tokens redacted (checks/redact.py), overlong values cut (checks/text.py `clip`). Every
finding, the run's names and statements, and the snapshot's evidence pass through here where they are made, so no
report, console line, gate or file can hold what a hostile server echoed back."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .model import Remediation
from .redact import redact
from .text import clip


def outside(value: Any) -> Any:
    """`value` (a string, or evidence holding strings), copied: every string in it redacted and clipped."""
    if isinstance(value, str):
        return clip(redact(value))
    if isinstance(value, Mapping):
        return {outside(k): outside(v) for k, v in value.items()}
    if isinstance(value, list):
        return [outside(v) for v in value]
    if isinstance(value, tuple):
        return tuple(outside(v) for v in value)
    return value


def outside_fix(fix: Remediation) -> Remediation:
    """A fix as findings keep it: built from the run's ids and a finding's evidence (both cleaned already), its text
    cleaned once more for anything a remedy took from elsewhere."""
    return Remediation(outside(fix.summary), outside(fix.steps), outside(fix.commands), outside(fix.links))
