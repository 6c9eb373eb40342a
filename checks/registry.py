"""The check and probe registries: plain dicts filled by the @check and @probe decorators."""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from .model import CheckResult, CheckSpec, Permission, Remediation, RunIds, Severity

CHECKS: dict[str, CheckSpec] = {}
PROBES: dict[str, ProbeSpec] = {}

# The modules that hold checks and probes, imported by name: no package walking.
RULE_MODULES = ("checks.rules.app", "checks.rules.consent", "checks.rules.profile", "checks.rules.mailbox",
                "checks.rules.telemetry", "checks.rules.exchange")
PROBE_MODULES = ("checks.probes.entra", "checks.probes.dataverse", "checks.probes.discovery", "checks.probes.token",
                 "checks.probes.exchange")

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class ProbeSpec:
    name: str
    func: Callable[..., Any]
    params: tuple[str, ...]
    permissions: tuple[Permission, ...] = ()


def check(check_id: str, title: str, severity: Severity, *, remedy: Callable[[RunIds], Remediation],
          references: tuple[str, ...] = (), permissions: tuple[Permission, ...] = (),
          depends_on: tuple[str, ...] = ()) -> Callable[[Callable[..., CheckResult]], Callable[..., CheckResult]]:
    """Register a check; its docstring is the rationale, its parameters name the evidence it needs."""

    def register(func: Callable[..., CheckResult]) -> Callable[..., CheckResult]:
        if check_id in CHECKS:
            raise ValueError(f"check id {check_id} is registered twice")
        CHECKS[check_id] = CheckSpec(
            id=check_id, title=title, severity=severity, rationale=inspect.getdoc(func) or "", func=func,
            params=tuple(inspect.signature(func).parameters), remedy=remedy, references=references,
            permissions=permissions, depends_on=depends_on,
        )
        return func

    return register


def probe(*, permissions: tuple[Permission, ...] = ()) -> Callable[[F], F]:
    """Register a probe under its function name; its parameters name what it needs (other probes, seeds)."""

    def register(func: F) -> F:
        name = func.__name__
        if name in PROBES:
            raise ValueError(f"probe {name} is registered twice")
        PROBES[name] = ProbeSpec(name, func, tuple(inspect.signature(func).parameters), permissions)
        return func

    return register


def permissions_of(spec: CheckSpec) -> list[Permission]:
    """What a check needs: its own declarations and those of every probe it reads, directly or not."""
    found = list(spec.permissions)
    seen: set[str] = set()
    pending = list(spec.params)
    while pending:
        name = pending.pop()
        if name in seen or name not in PROBES:
            continue
        seen.add(name)
        found.extend(PROBES[name].permissions)
        pending.extend(PROBES[name].params)
    return list(dict.fromkeys(found))


def load() -> tuple[dict[str, CheckSpec], dict[str, ProbeSpec]]:
    """Import the rule and probe modules (once) and return the registries."""
    for module in (*RULE_MODULES, *PROBE_MODULES):
        importlib.import_module(module)
    return CHECKS, PROBES
