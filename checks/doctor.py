"""`xtcheck doctor`: sign in as each reader identity and compare what its tokens carry with what the checks need."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from . import registry
from .errors import AuthError, ProbeError
from .http.apis import Apis
from .http.auth import Tokens
from .http.client import Http
from .http.signin import granted
from .model import CheckSpec, Permission
from .registry import select
from .settings import Credential, Settings

GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
# A needed role, and every role that includes it (Directory.* covers all directory reads).
SATISFIED_BY = {
    "Application.Read.All": {"Application.Read.All", "Application.ReadWrite.All", "Directory.Read.All",
                             "Directory.ReadWrite.All"},
    "Domain.Read.All": {"Domain.Read.All", "Domain.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All",
                        "Organization.Read.All", "Organization.ReadWrite.All"},
    "Exchange.ManageAsApp": {"Exchange.ManageAsApp"},
    "Policy.Read.All": {"Policy.Read.All", "Policy.ReadWrite.ConditionalAccess"},
    "User.Read.All": {"User.Read.All", "User.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"},
}
ROLE_IDS = {"Application.Read.All": "9a5d68dd-52b0-4cc2-bd40-abcf44ac3a30",
            "Domain.Read.All": "dbb9058a-0e50-45d7-ae91-66909b5d4664",
            "Policy.Read.All": "246dd0d5-5bd0-4def-940b-0421030a5b68",
            "User.Read.All": "df021288-bdef-4463-88db-98f22de89214"}
_WRITE = re.compile(r"ReadWrite|\.Write|\.Send$|^full_access_as_app$|\.Manage(?!AsApp)", re.IGNORECASE)


@dataclass
class IdentityReport:
    credential: Credential
    tenant_label: str
    signed_in: bool = False
    error: str = ""
    carried: tuple[str, ...] = ()
    needed: dict[str, list[str]] = field(default_factory=dict)  # role -> check ids
    missing: list[str] = field(default_factory=list)
    excessive: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def assess(carried: Iterable[str], needed: Iterable[str]) -> tuple[list[str], list[str]]:
    """(missing, excessive): roles needed but held by no including role; roles that could write."""
    held = set(carried)
    missing = sorted(n for n in needed if not (SATISFIED_BY.get(n, {n}) & held))
    excessive = sorted(r for r in held if _WRITE.search(r))
    return missing, excessive


def needs_by_place(checks: Sequence[CheckSpec]) -> dict[str, dict[str, list[str]]]:
    """place ("tenant B", "the app's home tenant", ...) -> role -> the checks that need it."""
    places: dict[str, dict[str, list[str]]] = {}
    for spec in checks:
        for permission in spec.permissions:
            role = _role(permission)
            places.setdefault(permission.where, {}).setdefault(role, []).append(spec.id)
    return places


def _role(permission: Permission) -> str:
    return permission.name.split(" ", maxsplit=1)[0]


def optional_roles(checks: Sequence[CheckSpec]) -> set[str]:
    """Roles whose checks skip (saying so) without them: missing, they are a note, not a failure."""
    return {_role(p) for spec in checks for p in spec.permissions if p.optional}


def examine(settings: Settings, exchange_tenant: str, *, deadline: float | None = None) -> list[IdentityReport]:
    """Sign in as every reader and compare; `deadline` (time.monotonic()) is when the command must be done: a
    sign-in still waiting then (a server sending a byte now and then) fails, and so does every one after it."""
    catalog, _ = registry.load()
    checks = select(catalog, settings.run.only, settings.run.skip)
    places, optional = needs_by_place(checks), optional_roles(checks)
    admin_api = settings.cloud.exchange_resource if settings.exchange_admin_api else None
    http = Http(settings.cloud.login, settings.ca_bundle, options=settings.http, graph_origin=settings.cloud.graph,
                exchange_admin_origin=admin_api, run_deadline=deadline)
    tokens = Tokens(settings, http)
    try:
        reports = [_examine(settings, tokens, c, places, exchange_tenant) for c in settings.credentials]
    finally:
        http.close()
    for report in reports:
        skipping = [role for role in report.missing if role in optional]
        report.missing = [role for role in report.missing if role not in optional]
        report.notes.extend(f"optional {role} not held: {', '.join(sorted(set(report.needed.get(role, []))))} skip "
                            "without it" for role in skipping)
    return reports


def _examine(settings: Settings, tokens: Tokens, credential: Credential, places: dict[str, dict[str, list[str]]],
             exchange_tenant: str) -> IdentityReport:
    is_b = credential.tenant_id == exchange_tenant
    is_a = credential.tenant_id == settings.dynamics_tenant
    label = "tenant B" if is_b else "tenant A" if is_a else "another tenant"
    report = IdentityReport(credential, label)
    graph_needs: dict[str, list[str]] = {}
    for place in ("tenant B",) if is_b else ():
        graph_needs.update({r: ids for r, ids in places.get(place, {}).items() if r != "Exchange.ManageAsApp"})
    for role, ids in places.get("the app's home tenant", {}).items():
        graph_needs.setdefault(role, []).extend(i for i in ids if i not in graph_needs.get(role, []))
    try:
        report.carried = granted(tokens.token(credential, settings.cloud.graph))
        report.signed_in = True
    except AuthError as exc:
        report.error = str(exc)
        return report
    report.needed = graph_needs
    report.missing, report.excessive = assess(report.carried, graph_needs)
    if not is_b:
        report.notes.append("the app's home tenant needs Application.Read.All only if the app is registered here")
    if is_b and settings.exchange_admin_api:
        _check_exchange(settings, tokens, credential, report)
    if is_a:
        _check_dataverse(settings, tokens, credential, report)
    return report


def _check_exchange(settings: Settings, tokens: Tokens, credential: Credential, report: IdentityReport) -> None:
    try:
        roles = granted(tokens.token(credential, settings.cloud.exchange_resource))
    except AuthError as exc:
        report.missing.append(f"Exchange.ManageAsApp (cannot sign in for Exchange: {exc})")
        return
    missing, excessive = assess(roles, ["Exchange.ManageAsApp"])
    report.missing += missing
    report.excessive += excessive
    report.carried += tuple(f"Exchange: {r}" for r in roles)


def _check_dataverse(settings: Settings, tokens: Tokens, credential: Credential, report: IdentityReport) -> None:
    apis = Apis(settings, tokens.http, tokens)
    try:
        who = apis.dataverse().get("WhoAmI")
    except (AuthError, ProbeError) as exc:
        report.missing.append(f"a Dataverse application user in {settings.environment_url} ({exc})")
        return
    report.notes.append(f"signs in to Dataverse as application user {who.get('UserId')}; its read privileges are "
                        "not in the token, the audit reports any that are missing as errors")


def grant_commands(report: IdentityReport, exchange_tenant: str, login: str) -> list[str]:
    """What to run for the missing Graph roles of one identity."""
    ids = [ROLE_IDS[r] for r in report.missing if r in ROLE_IDS]
    if not ids:
        return []
    client = report.credential.client_id
    permissions = " ".join(f"{i}=Role" for i in ids)
    tenant = report.credential.tenant_id
    return [f"az ad app permission add --id {client} --api {GRAPH_APP_ID} --api-permissions {permissions}",
            f"then grant admin consent in tenant {tenant}: {login}/{tenant}/adminconsent?client_id={client}"]
