"""The check and probe registries: plain dicts filled by the @check and @probe decorators, and the catalog's
selection (`--only`, `--skip`)."""

from __future__ import annotations

import dataclasses
import importlib
import inspect
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from .errors import ConfigError
from .model import AREAS, LINKS, CheckResult, CheckSpec, Permission, Remedy, Severity

CHECKS: dict[str, CheckSpec] = {}
PROBES: dict[str, ProbeSpec] = {}

# Where each area's checks live: a check id's prefix names its module (APP-004 is in checks/rules/app.py). Imported
# by name, never found by walking the package.
RULE_MODULES: dict[str, tuple[str, ...]] = {
    "APP": ("checks.rules.app", "checks.rules.app_secret"),
    "EXO": ("checks.rules.exchange", "checks.rules.signin"),
    "GRA": ("checks.rules.graph",),
    "EWS": ("checks.rules.ews",),
    "PRF": ("checks.rules.profile", "checks.rules.profile_target"),
    "MBX": ("checks.rules.mailbox", "checks.rules.mailbox_sync", "checks.rules.mailbox_recipient"),
}
PROBE_MODULES = ("checks.probes.entra", "checks.probes.dataverse", "checks.probes.discovery", "checks.probes.token",
                 "checks.probes.exchange", "checks.probes.tenant")

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class ProbeSpec:
    name: str
    func: Callable[..., Any]
    params: tuple[str, ...]
    permissions: tuple[Permission, ...] = ()
    lazy: frozenset[str] = frozenset()  # params passed as a call that reads them, for reads made only sometimes
    what: str = ""  # what it reads, in words an operator knows: "the sync app's service principal in tenant B"
    shared: tuple[str, ...] = ()  # what its result depends on, beyond the estate's cloud and credentials: the targets
    # of an estate that agree on these (evidence names, or settings.<attribute>) read it once between them

    @property
    def eager(self) -> tuple[str, ...]:
        """The params read before the probe runs (the others it reads itself, if at all)."""
        return tuple(p for p in self.params if p not in self.lazy)


def check(check_id: str, title: str, severity: Severity, *, link: str, remedy: Remedy,
          references: tuple[str, ...] = (),
          depends_on: tuple[str, ...] = ()) -> Callable[[Callable[..., CheckResult]], Callable[..., CheckResult]]:
    """Register a check: its docstring is the rationale, its parameters name the evidence it needs, `link` the link
    of the chain it guards, and `remedy(ids, ...)` builds the fix of a fail or warn from the run's ids and the
    evidence keys its other parameters name. What it may read (its permissions) comes from its probes."""
    if link not in LINKS:
        raise ValueError(f"{check_id}: link {link!r} is not one of {', '.join(LINKS)}")
    if check_id.split("-", maxsplit=1)[0] not in AREAS:
        raise ValueError(f"{check_id}: its prefix names no area ({', '.join(AREAS)})")
    reads = tuple(inspect.signature(remedy).parameters)[1:]

    def register(func: Callable[..., CheckResult]) -> Callable[..., CheckResult]:
        if check_id in CHECKS:
            raise ValueError(f"check id {check_id} is registered twice")
        CHECKS[check_id] = CheckSpec(
            id=check_id, title=title, severity=severity, rationale=inspect.getdoc(func) or "", func=func,
            params=tuple(inspect.signature(func).parameters), remedy=remedy, link=link, references=references,
            depends_on=depends_on, remedy_reads=reads,
        )
        return func

    return register


def probe(what: str, *, permissions: tuple[Permission, ...] = (), lazy: tuple[str, ...] = (),
          shared: tuple[str, ...] = ()) -> Callable[[F], F]:
    """Register a probe under its function name; its parameters name what it needs (other probes, seeds). `what`
    says what it reads in the operator's words (messages name it, never the function). A name in `lazy` comes as a
    call that reads it: for evidence the probe needs only sometimes, or whose failure it turns into data. `shared`
    names what the result depends on (evidence, or settings.<attribute>) when that is not the whole target: an
    estate's targets with the same values read it once (one app used by 40 profiles, one tenant B's users)."""

    def register(func: F) -> F:
        name = func.__name__
        if name in PROBES:
            raise ValueError(f"probe {name} is registered twice")
        params = tuple(inspect.signature(func).parameters)
        if not set(lazy) <= set(params):
            raise ValueError(f"probe {name}: lazy {sorted(set(lazy) - set(params))} are not its parameters")
        for key in shared:
            if not key.startswith("settings.") and key not in params:
                raise ValueError(f"probe {name}: shared names {key!r}, neither a parameter nor settings.<attribute>")
        PROBES[name] = ProbeSpec(name, func, params, permissions, frozenset(lazy), what, shared)
        return func

    return register


def permissions_of(params: Iterable[str]) -> tuple[Permission, ...]:
    """What reading these evidence names needs: the permissions of every probe read for them, directly or through
    other probes (reads a probe makes only sometimes, `lazy`, are not counted)."""
    found: list[Permission] = []
    seen: set[str] = set()
    pending = list(params)
    while pending:
        name = pending.pop(0)
        if name in seen or name not in PROBES:
            continue
        seen.add(name)
        found.extend(PROBES[name].permissions)
        pending.extend(PROBES[name].eager)
    return tuple(dict.fromkeys(found))


def load() -> tuple[dict[str, CheckSpec], dict[str, ProbeSpec]]:
    """Import the rule and probe modules (once) and return the registries, each check with its permissions."""
    for module in (*(name for names in RULE_MODULES.values() for name in names), *PROBE_MODULES):
        importlib.import_module(module)
    for check_id, spec in CHECKS.items():
        CHECKS[check_id] = dataclasses.replace(spec, permissions=permissions_of(spec.params))
    return CHECKS, PROBES


def select(catalog: dict[str, CheckSpec], only: Iterable[str], skip: Iterable[str]) -> list[CheckSpec]:
    """The checks to run; an unknown id in --only/--skip is a usage error, not a silent no-op."""
    only, skip = {i.upper() for i in only}, {i.upper() for i in skip}
    for flag, ids in (("--only", only), ("--skip", skip)):
        unknown = sorted(i for i in ids if i not in catalog and not any(c.startswith(f"{i}-") for c in catalog))
        if unknown:
            raise ConfigError(flag, f"unknown check id {', '.join(unknown)}; `xtcheck checks` lists the catalog")

    def named(check_id: str, ids: set[str]) -> bool:
        return check_id in ids or check_id.split("-", maxsplit=1)[0] in ids

    chosen = [c for c in catalog.values() if (not only or named(c.id, only)) and not named(c.id, skip)]
    if not chosen:  # a run of nothing would pass: a selection that leaves nothing is a mistake, said as one
        if only:
            raise ConfigError("--only", f"{', '.join(sorted(only))} names no check that --skip "
                              f"{', '.join(sorted(skip))} leaves: nothing would run")
        raise ConfigError("--skip", f"{', '.join(sorted(skip))} leaves no check to run")
    return chosen
