"""Loops over the whole registry: every check is well-formed, lives where its id says, is wired to evidence that
exists, and is tested both ways. Nothing here lists the checks by hand: a new check is held to all of it."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from checks import registry
from checks.model import AREAS, LINKS, CheckSpec, Permission, Remediation, RunIds, Severity
from checks.registry import ProbeSpec, check

# Checks whose reads need no permission of the reader identity, and why.
NEEDS_NO_PERMISSION = {
    "EXO-004": "OpenID discovery of tenant B is anonymous",
    "EXO-003": "the opt-in live token probe signs in as the sync app with its own secret (app.secret)",
}
ABOUT_THE_TENANT = {"EXO-004"}  # about tenant B itself, not the app: its remediation names the tenant instead
SEEDS = {"settings", "thresholds", "now", "apis"}
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


def test_the_catalog_is_not_empty_and_ids_are_unique_and_well_formed() -> None:
    assert SPECS
    assert len({c.id for c in SPECS}) == len(SPECS)
    assert all(re.fullmatch(r"[A-Z]{3}-\d{3}", c.id) for c in SPECS), [c.id for c in SPECS]
    assert all(key == spec.id for key, spec in CHECKS.items())


@pytest.mark.parametrize("spec", by_id(SPECS))
def test_a_check_lives_in_the_module_its_id_names(spec: CheckSpec) -> None:
    assert spec.area in AREAS and spec.area in registry.RULE_MODULES
    assert spec.func.__module__ in registry.RULE_MODULES[spec.area], (
        f"{spec.id} is in {spec.func.__module__}; {spec.area}-* checks live in {registry.RULE_MODULES[spec.area]}")


def test_every_area_module_holds_only_its_own_checks() -> None:
    for area, modules in registry.RULE_MODULES.items():
        held = {c.area for c in SPECS if c.func.__module__ in modules}
        assert held <= {area}, f"{modules} hold checks of {sorted(held - {area})}"


@pytest.mark.parametrize("spec", by_id(SPECS))
def test_title_rationale_and_references_are_written(spec: CheckSpec) -> None:
    assert spec.title.strip() and spec.title[0].isupper() and not spec.title.endswith(".")
    assert spec.rationale.strip(), f"{spec.id}: the docstring is the rationale"
    assert spec.references, f"{spec.id}: cite the Microsoft page that states the rule"
    assert all(link.startswith("https://") for link in spec.references)


@pytest.mark.parametrize("spec", by_id(SPECS))
def test_every_check_guards_a_link_of_the_chain(spec: CheckSpec) -> None:
    assert spec.link in LINKS


@pytest.mark.parametrize("spec", by_id(SPECS))
def test_remediation_is_built_from_the_run_ids_and_links_the_references(spec: CheckSpec) -> None:
    fix = spec.fix(IDS, {})
    assert isinstance(fix, Remediation)
    assert fix.summary.strip()
    assert all(link.startswith("https://") for link in fix.links)
    assert set(spec.references) <= set(fix.links)
    if spec.area in ("APP", "EXO", "GRA"):
        text = " ".join((fix.summary, *fix.steps, *fix.commands))
        named = IDS.exchange_tenant if spec.id in ABOUT_THE_TENANT else IDS.client_id
        assert named in text, f"{spec.id}: the remediation should name the app's client id (or tenant B's id)"


@pytest.mark.parametrize("spec", by_id(SPECS))
def test_a_remedy_reads_only_evidence_keys_and_the_ids(spec: CheckSpec) -> None:
    assert all(re.fullmatch(r"[A-Za-z_]\w*", key) for key in spec.remedy_reads)
    assert "ids" not in spec.remedy_reads


@pytest.mark.parametrize("spec", by_id(SPECS))
def test_every_check_parameter_is_a_probe_or_a_seed(spec: CheckSpec) -> None:
    unknown = [p for p in spec.params if p not in PROBES and p not in SEEDS]
    assert not unknown, f"{spec.id} asks for evidence nobody provides: {unknown}"


@pytest.mark.parametrize("probe", [pytest.param(p, id=p.name) for p in PROBES.values()])
def test_every_probe_parameter_is_a_probe_or_a_seed(probe: ProbeSpec) -> None:
    unknown = [p for p in probe.params if p not in PROBES and p not in SEEDS]
    assert not unknown, f"probe {probe.name} asks for evidence nobody provides: {unknown}"
    assert probe.lazy <= set(probe.params) and not probe.lazy & SEEDS


def test_dependencies_name_registered_checks_without_cycles() -> None:
    for spec in SPECS:
        assert set(spec.depends_on) <= set(CHECKS), f"{spec.id} depends on unknown {spec.depends_on}"
        assert spec.id not in spec.depends_on

    def reaches(start: str, target: str, path: tuple[str, ...] = ()) -> bool:
        return any(dep == target or (dep not in path and reaches(dep, target, (*path, dep)))
                   for dep in CHECKS[start].depends_on)

    cyclic = [spec.id for spec in SPECS if reaches(spec.id, spec.id)]
    assert not cyclic, f"dependency cycle through {cyclic}"


@pytest.mark.parametrize("spec", by_id(SPECS))
def test_every_check_needs_the_permissions_of_its_probes(spec: CheckSpec) -> None:
    assert set(spec.permissions) == set(registry.permissions_of(spec.params))
    if spec.id in NEEDS_NO_PERMISSION:
        assert spec.permissions == (), f"{spec.id} is listed as needing no permission"
        return
    assert spec.permissions, f"{spec.id}'s probes declare no permission"
    assert all(isinstance(p, Permission) and p.service and p.name and p.where for p in spec.permissions)


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
    assert name.islower()


def _fix(ids: RunIds) -> Remediation:
    return Remediation("a fix")


@pytest.mark.parametrize(("check_id", "link", "problem"), [
    ("APP-999", "nowhere", "link 'nowhere' is not one of"),
    ("ZZZ-001", "app", "its prefix names no area"),
])
def test_the_decorator_refuses_a_check_outside_the_chain_or_the_areas(check_id: str, link: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        check(check_id, "A title", Severity.LOW, link=link, remedy=_fix, references=("https://example.org",))
    assert check_id not in CHECKS


def test_the_decorator_refuses_an_id_registered_twice() -> None:
    register = check("APP-001", "Again", Severity.LOW, link="app", remedy=_fix)
    with pytest.raises(ValueError, match="registered twice"):
        register(lambda: iter(()))
