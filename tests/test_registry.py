"""Loops over the whole registry: every check is well-formed, wired to evidence that exists, and tested both ways."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from checks import registry
from checks.model import CheckSpec, Permission, Remediation, RunIds
from checks.registry import ProbeSpec

CATALOG = ("APP-001", "APP-002", "APP-003", "APP-004", "EXO-001", "EXO-002", "EXO-003", "EXO-004", "GRA-001",
           "EWS-001", "PRF-001", "PRF-002", "PRF-003", "PRF-004", "PRF-005", "MBX-001", "MBX-002", "MBX-003",
           "MBX-004", "MBX-005")
# Checks whose reads need no permission of the reader identity, and why. They must say so with permissions=().
NEEDS_NO_PERMISSION = {
    "EXO-004": "OpenID discovery of tenant B is anonymous",
    "EXO-003": "the opt-in live token probe signs in as the sync app with its own secret (app.secret)",
}
ABOUT_THE_TENANT = {"EXO-004"}  # about tenant B itself, not the app: its remediation names the tenant instead
SEEDS = {"settings", "thresholds", "now", "apis", "evidence"}
RULE_TESTS = Path(__file__).parent / "rules"
IDS = RunIds(
    client_id="33333333-3333-4333-8333-333333333333", exchange_tenant="22222222-2222-4222-8222-222222222222",
    dynamics_tenant="11111111-1111-4111-8111-111111111111", home_tenant="22222222-2222-4222-8222-222222222222",
    environment_url="https://contoso.crm4.dynamics.com", login_host="https://login.microsoftonline.com",
    graph_host="https://graph.microsoft.com", portal_host="https://entra.microsoft.com",
    profile="Exchange Online cross-tenant",
)

CHECKS, PROBES = registry.load()
SPECS = sorted(CHECKS.values(), key=lambda c: c.id)


def by_id(specs: list[CheckSpec]) -> list[object]:
    return [pytest.param(spec, id=spec.id) for spec in specs]


def test_ids_are_unique_and_well_formed() -> None:
    assert len({c.id for c in SPECS}) == len(SPECS)
    assert all(re.fullmatch(r"[A-Z]{3}-\d{3}", c.id) for c in SPECS), [c.id for c in SPECS]
    assert all(key == spec.id for key, spec in CHECKS.items())


def test_every_check_of_the_catalog_is_registered() -> None:
    assert set(CATALOG) == set(CHECKS), (sorted(set(CATALOG) - set(CHECKS)), sorted(set(CHECKS) - set(CATALOG)))


@pytest.mark.parametrize("spec", by_id(SPECS))
def test_title_and_rationale_are_written(spec: CheckSpec) -> None:
    assert spec.title.strip() and spec.title[0].isupper() and not spec.title.endswith(".")
    assert spec.rationale.strip(), f"{spec.id}: the docstring is the rationale"
    assert all(link.startswith("https://") for link in spec.references)


@pytest.mark.parametrize("spec", by_id(SPECS))
def test_remediation_is_built_from_the_run_ids(spec: CheckSpec) -> None:
    fix = spec.remedy(IDS)
    assert isinstance(fix, Remediation)
    assert fix.summary.strip()
    assert all(link.startswith("https://") for link in fix.links)
    if spec.area in ("APP", "EXO", "GRA"):
        text = " ".join((fix.summary, *fix.steps, *fix.commands))
        named = IDS.exchange_tenant if spec.id in ABOUT_THE_TENANT else IDS.client_id
        assert named in text, f"{spec.id}: the remediation should name the app's client id (or tenant B's id)"


@pytest.mark.parametrize("spec", by_id(SPECS))
def test_every_check_parameter_is_a_probe_or_a_seed(spec: CheckSpec) -> None:
    unknown = [p for p in spec.params if p not in PROBES and p not in SEEDS]
    assert not unknown, f"{spec.id} asks for evidence nobody provides: {unknown}"


@pytest.mark.parametrize("probe", [pytest.param(p, id=p.name) for p in PROBES.values()])
def test_every_probe_parameter_is_a_probe_or_a_seed(probe: ProbeSpec) -> None:
    unknown = [p for p in probe.params if p not in PROBES and p not in SEEDS]
    assert not unknown, f"probe {probe.name} asks for evidence nobody provides: {unknown}"


def test_dependencies_name_registered_checks_without_cycles() -> None:
    for spec in SPECS:
        assert set(spec.depends_on) <= set(CHECKS), f"{spec.id} depends on unknown {spec.depends_on}"
        assert spec.id not in spec.depends_on

    def reaches(start: str, target: str, path: tuple[str, ...] = ()) -> bool:
        return any(dep == target or (dep not in path and reaches(dep, target, (*path, dep)))
                   for dep in CHECKS[start].depends_on)

    cyclic = [spec.id for spec in SPECS if reaches(spec.id, spec.id)]
    assert not cyclic, f"dependency cycle through {cyclic}"


def _probe_permissions(name: str, seen: frozenset[str] = frozenset()) -> set[Permission]:
    spec = PROBES.get(name)
    if spec is None or name in seen:
        return set()
    found = set(spec.permissions)
    for param in spec.params:
        found |= _probe_permissions(param, seen | {name})
    return found


@pytest.mark.parametrize("spec", by_id(SPECS))
def test_every_check_declares_the_permissions_it_needs(spec: CheckSpec) -> None:
    declared = set(spec.permissions) | {p for param in spec.params for p in _probe_permissions(param)}
    if spec.id in NEEDS_NO_PERMISSION:
        assert spec.permissions == () and not declared, f"{spec.id} is listed as needing no permission"
        return
    assert declared, f"{spec.id} declares no permission, nor do its probes"
    assert all(isinstance(p, Permission) and p.service and p.name and p.where for p in declared)


def _rule_test_names() -> set[str]:
    found: set[str] = set()
    for path in RULE_TESTS.glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        found |= {node.name for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)
                  and node.name.startswith("test_")}
    return found


@pytest.mark.parametrize("spec", by_id(SPECS))
def test_every_check_has_a_passing_and_a_failing_test(spec: CheckSpec) -> None:
    stem = f"test_{spec.id.lower().replace('-', '_')}_"
    names = _rule_test_names()
    assert any(n.startswith(f"{stem}pass") for n in names), f"no {stem}pass... test in tests/rules"
    assert any(n.startswith((f"{stem}fail", f"{stem}warn")) for n in names), f"no {stem}fail... test in tests/rules"


@pytest.mark.parametrize("spec", by_id(SPECS))
def test_check_functions_are_named_for_the_compliant_state(spec: CheckSpec) -> None:
    name = spec.func.__name__
    assert not name.startswith(("check_", "test_", "verify_", "ensure_")), name
    assert name.islower() and spec.func.__module__ in registry.RULE_MODULES
