"""`xtcheck diff` of two estate reports: each target compared as two single-target reports are (checks/drift.py), by
the target's name; a target that came or went is said, and a new target's problems are regressions as a new
finding's are."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .drift import Drift, ReportError, compare, document, render, validated
from .files import shown
from .merge import validated_estate
from .model import Severity
from .report.estate_json import KIND
from .text import visible_line

Verify = Callable[[bytes, Path], None]


@dataclass(frozen=True)
class EstateDrift:
    targets: dict[str, Drift] = field(default_factory=dict)  # by name: the targets in both reports, and new ones
    gone: list[str] = field(default_factory=list)  # in the old report only
    new: list[str] = field(default_factory=list)  # in the new report only

    @property
    def regressions(self) -> int:
        return sum(len(drift.regressions) for drift in self.targets.values())


def read_either(path: Path, verify: Verify | None = None) -> dict[str, Any]:
    """A single-target or an estate JSON report, validated as its kind is; read once."""
    data = document(path, verify)
    return validated_estate(data, shown(path)) if data.get("kind") == KIND else validated(data, shown(path))


def is_estate(report: dict[str, Any]) -> bool:
    return report.get("kind") == KIND


def compare_estates(old: dict[str, Any], new: dict[str, Any],
                    min_severity: Severity | str = Severity.INFO) -> EstateDrift:
    """Each target of `new` against the same-named target of `old` (an empty report when it is new)."""
    before = {t["target"]["name"]: t for t in old["targets"]}
    after = {t["target"]["name"]: t for t in new["targets"]}
    empty: dict[str, Any] = {"findings": [], "passed": []}
    drifts = {name: compare(before.get(name, empty), target, min_severity) for name, target in sorted(after.items())}
    return EstateDrift(drifts, sorted(set(before) - set(after)), sorted(set(after) - set(before)))


def render_estate(drift: EstateDrift, old_label: str, new_label: str) -> list[str]:
    """The targets that changed, each as `drift.render` shows one report, then a closing line for the estate."""
    lines = [f"xtcheck diff: {old_label} -> {new_label} (estates)"]
    for name in drift.new:
        lines.append(visible_line(f"  new target: {name}"))
    for name in drift.gone:
        lines.append(visible_line(f"  target no longer in the report: {name} (not audited: not a resolution)"))
    changed = {name: d for name, d in drift.targets.items() if d.appeared or d.resolved or d.changed}
    for name, one in changed.items():
        body = render(one, "", "")[1:]  # without its own heading
        lines.extend(["", visible_line(f"target {name}"), *(f"  {line}" if line else line for line in body)])
    count = drift.regressions
    total = f"{len(drift.targets)} target{'s' if len(drift.targets) != 1 else ''}"
    lines.extend(["", f"{count} regression{'s' if count != 1 else ''}; {len(changed)} of {total} changed"
                  if changed else f"no changes in {total}"])
    return lines


def mixed(old: dict[str, Any], new: dict[str, Any], labels: tuple[str, str]) -> ReportError | None:
    """An estate report compared with a single-target one: said in one line, never compared."""
    if is_estate(old) == is_estate(new):
        return None
    estate, single = (labels[0], labels[1]) if is_estate(old) else (labels[1], labels[0])
    return ReportError(f"{estate} is an estate report and {single} a single target's: compare two of a kind")
