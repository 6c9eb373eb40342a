"""Findings and a run built from literals for the reporter tests (no sandbox needed)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from checks import registry
from checks.model import Attestation, BriefPass, Finding, Outcome, Remediation, Run, Severity, Status, passed

CLIENT = "33333333-3333-3333-3333-333333333333"
TENANT_A = "11111111-1111-1111-1111-111111111111"
TENANT_B = "22222222-2222-2222-2222-222222222222"

SECRET_FIX = Remediation(
    "Add a new client secret to the app and put it on the email server profile.",
    steps=("Open the app registration in tenant A.", "Add a client secret.", "Update the profile's secret."),
    commands=(f"az ad app credential reset --id {CLIENT} --append",
              "Entra admin center > App registrations > Certificates & secrets"),
    links=("https://learn.microsoft.com/entra/identity-platform/howto-create-service-principal-portal",),
)
CONSENT_FIX = Remediation(
    "Grant admin consent for full_access_as_app in tenant B.",
    commands=(f"https://login.microsoftonline.com/{TENANT_B}/adminconsent?client_id={CLIENT}",
              f"Connect-MgGraph -TenantId {TENANT_B} -Scopes AppRoleAssignment.ReadWrite.All"),
)


def finding(check_id: str, status: Status, subject: str, message: str = "", **extra: object) -> Finding:
    """A finding with a plausible title and severity; `extra` sets evidence, remediation or blocked_by."""
    return Finding(check_id, f"title of {check_id}", Severity.HIGH, status, subject, message or f"{subject} seen",
                   **extra)  # type: ignore[arg-type]


def approved(subject: str, row: Mapping[str, Any], brief: bool = False) -> Outcome | None:
    """A judge as the mailbox checks have one: a pass decided without its words when `brief`."""
    return None if brief else passed(subject, f"{subject} is approved", approval=row["approval"])


def brief_passes(check_id: str, *subjects: str) -> list[Finding]:
    """Passes over mailbox rows as the engine makes them: `BriefPass` findings of `check_id`."""
    return [BriefPass(subject, approved, {"approval": 1}).for_check(check_id, f"title of {check_id}", Severity.HIGH)
            for subject in subjects]


def make_run(checks: tuple[str, ...] | None = None, **overrides: object) -> Run:
    """A run over `checks` (ids; default: the whole catalog), with other metadata overridden."""
    catalog = registry.load()[0]
    values: dict[str, object] = dict(
        tool_version="0.1.0", started="2026-03-01T10:00:00Z", finished="2026-03-01T10:00:04Z",
        environment_url="https://contoso.crm4.dynamics.com", dynamics_tenant=TENANT_A, exchange_tenant=TENANT_B,
        client_id=CLIENT, profile="Exchange Online cross-tenant", cloud="public",
        checks=tuple(catalog[i] for i in sorted(catalog if checks is None else checks)),
        completeness=("checked 3 of 3 active mailboxes on profile Exchange Online cross-tenant, all pages read",),
        attestation=Attestation(
            requests={"GET graph.microsoft.com": 9, "GET contoso.crm4.dynamics.com": 3,
                      "POST login.microsoftonline.com": 2},
            writes_attempted=0,
            token_roles={f"reader in {TENANT_B} for Graph": ("Application.Read.All", "Domain.Read.All")},
        ),
    )
    values.update(overrides)
    return Run(**values)  # type: ignore[arg-type]


def sample_findings() -> list[Finding]:
    """One of each status across areas, and passes over mailbox rows (`BriefPass`), deliberately out of order."""
    return [
        finding("MBX-001", Status.PASS, "carol@contoso.com"),
        finding("MBX-001", Status.FAIL, "bob@contoso.com", "bob@contoso.com uses another profile",
                remediation=Remediation("Point the mailbox at the profile.", steps=("Open the mailbox.",)),
                evidence={"profile": "Other"}),
        finding("APP-004", Status.WARN, f"app {CLIENT}", "the only valid secret expires on 2026-03-20",
                remediation=SECRET_FIX, evidence={"expires": dt.datetime(2026, 3, 20, tzinfo=dt.UTC)}),
        finding("APP-001", Status.PASS, f"app {CLIENT}", "the app exists in its home tenant"),
        finding("EXO-002", Status.ERROR, f"app {CLIENT}", "could not read appRoleAssignments: HTTP 403"),
        finding("EXO-001", Status.FAIL, f"app {CLIENT}", "no service principal in tenant B", remediation=CONSENT_FIX),
        finding("PRF-002", Status.SKIP, "profile Exchange Online cross-tenant",
                "blocked: PRF-001 failed; fix it first", blocked_by="PRF-001"),
        finding("PRF-001", Status.FAIL, "profile Exchange Online cross-tenant", "the profile is inactive"),
        finding("ZZZ-001", Status.PASS, "something", "an area nobody has named yet"),
        *brief_passes("MBX-002", "erin@contoso.com", "dave@contoso.com"),
        *brief_passes("MBX-001", "dave@contoso.com"),
    ]
