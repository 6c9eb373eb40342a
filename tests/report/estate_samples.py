"""An estate built from literals for the estate report tests: targets of every overview status, a secret two
targets share, a target not ready for Graph, a hostile target name, and an environment that could not be read."""

from __future__ import annotations

from dataclasses import replace

from report_samples import CLIENT, TENANT_B, brief_passes, finding, make_run

from checks.gate import decide
from checks.model import Attestation, EstateResult, Finding, Remediation, Status, Target, TargetResult, Unreadable

HOSTILE = "evil <script>alert(1)</script> | *x* [y](javascript:z) \\; ,\n::error::forged"
SHARED_APP = "44444444-4444-4444-4444-444444444444"
STARTED = "2026-03-01T10:00:00Z"


def credential(key_id: str, name: str, end: str, start: str = "2025-01-01T00:00:00Z") -> dict[str, object]:
    return {"keyId": key_id, "displayName": name, "hint": None, "start": start, "end": end}


def secret(status: Status, client: str, *credentials: dict[str, object]) -> Finding:
    return finding("APP-004", status, f"app {client}", "a secret", evidence={"credentials": list(credentials),
                                                                             "warning_days": 30})


def target(name: str, host: str, findings: list[Finding], *, client: str = CLIENT, environment: str = "",
           **run: object) -> TargetResult:
    url = f"https://{host}"
    made = make_run(environment_url=url, client_id=client, started=STARTED, **run)
    made = replace(made, gate=decide(findings))
    return TargetResult(Target(name, url, made.profile, TENANT_B, client, environment), findings, made)


def failing() -> TargetResult:
    return target("alpha.crm4.dynamics.com", "alpha.crm4.dynamics.com", [
        finding("PRF-001", Status.FAIL, "profile Exchange Online cross-tenant", "the profile is inactive",
                remediation=Remediation("Activate the profile.")),
        finding("MBX-001", Status.FAIL, "bob@contoso.com", "bob uses another profile"),
        finding("MBX-003", Status.WARN, "carol@contoso.com", "carol is not approved"),
        finding("EWS-001", Status.WARN, "tenant", "EWS is used; Graph not ready"),
        secret(Status.PASS, SHARED_APP, credential("k1", "sss-2026", "2026-06-30T00:00:00Z")),
        *brief_passes("MBX-002", *(f"user{n}@contoso.com" for n in range(12))),
    ], client=SHARED_APP, environment="Alpha Sales")


def passing() -> TargetResult:
    return target("beta.crm.dynamics.com", "beta.crm.dynamics.com", [
        finding("PRF-001", Status.PASS, "profile Exchange Online cross-tenant", "active"),
        finding("EWS-001", Status.PASS, "tenant", "Graph ready"),
        secret(Status.PASS, SHARED_APP, credential("k1", "sss-2026", "2026-06-30T00:00:00Z"),
               credential("k0", "old", "2026-01-01T00:00:00Z")),
        *brief_passes("MBX-001", "ann@beta.com", "ben@beta.com"),
    ], client=SHARED_APP)


def erring() -> TargetResult:
    return target(HOSTILE, "evil.crm.dynamics.com", [
        finding("EXO-002", Status.ERROR, f"app {CLIENT}", "could not read appRoleAssignments: HTTP 403"),
        secret(Status.WARN, CLIENT, credential("k9", "soon <b>", "2026-03-20T00:00:00Z")),
        finding("EWS-001", Status.ERROR, "tenant", "could not read"),
    ], environment=HOSTILE)


def warning() -> TargetResult:
    return target("delta.crm.dynamics.com", "delta.crm.dynamics.com", [
        finding("MBX-003", Status.WARN, "dora@delta.com", "dora is not approved"),
    ])


UNREADABLE = Unreadable("Gamma <b>&", "https://gamma.crm.dynamics.com", "HTTP 403 reading the profiles <x>",
                        "assign the reader a security role | *now*")


def sample_estate(*, unreadable: bool = True, targets: list[TargetResult] | None = None) -> EstateResult:
    chosen = targets if targets is not None else [passing(), warning(), failing(), erring()]
    return EstateResult(chosen, [UNREADABLE] if unreadable else [], "0.1.0", STARTED, "2026-03-01T10:05:00Z",
                        Attestation({"GET graph.microsoft.com": 30}, 0, {}),
                        ("listed 5 environments of tenant A: 4 audited as 4 targets, 1 the reader cannot read",))
