"""The check on Microsoft Graph in tenant B: the application permissions server-side sync now needs (sync is moving
off EWS) are admin-consented to the app."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..model import CheckResult, Remediation, RunIds, Severity, failed, passed, skipped
from ..probes.entra import GRAPH_APP_ID
from ..registry import check
from . import GRAPH_ROLES, app_subject, missing_graph_roles, names
from .fixes import SCOPING, app_registration, consent_risks, consent_url
from .sources import GRAPH_APP_ROLE_ASSIGNMENTS, GRAPH_SCRIPT, LEARN_CROSS_TENANT, LIMIT_MAILBOX_ACCESS

# The Microsoft Graph application roles server-side sync needs, with their ids in the public cloud.
GRAPH_ROLE_IDS = {
    "Mail.ReadWrite": "e2a3a72e-5f79-4c64-b1b1-878b674786c9",
    "Mail.Send": "b633e1c5-b582-4048-a93e-9f11b44c7e96",
    "MailboxSettings.ReadWrite": "6931bccd-447a-43d1-b442-00a195474933",
    "Calendars.ReadWrite": "ef54d2bf-783f-4e0f-bca1-3210c0444d99",
    "Contacts.ReadWrite": "6918b873-d17a-4dc1-b314-35f528134491",
    "Tasks.ReadWrite.All": "44e666d1-d276-445b-a5fc-8815eeb81d55",
    "MailboxConfigItem.ReadWrite": "aa6d92d4-b25a-4640-aefe-3e3231e5e736",
    "Chat.Read.All": "6b7d71aa-70aa-4810-a8d9-5d9fb2830017",
    "OnlineMeetings.ReadWrite.All": "b8bb2037-6e08-44ac-a4ea-4674e010e2a4",
    "CallRecords.Read.All": "45bbb07e-7321-4fd7-a8f6-3ff27e6a81c8",
    "User.Read.All": "df021288-bdef-4463-88db-98f22de89214",
}
_NO_SP = "the app has no service principal in tenant B (see EXO-001)"
# What the eleven roles reach, and what can narrow them: Application Access Policies and RBAC for Applications list
# what they can scope, and name none of the roles in the last sentence.
GRAPH_ROLES_REACH = (
    "What the roles grant the app: the mail, calendars, contacts and mailbox settings of every mailbox in tenant B, "
    "and every user's tasks, chats, online meetings, call records and profile. An Application Access Policy can "
    "confine Mail, MailboxSettings, Calendars and Contacts to a group of mailboxes (and RBAC for Applications "
    "MailboxConfigItem); Tasks.ReadWrite.All, Chat.Read.All, OnlineMeetings.ReadWrite.All, CallRecords.Read.All and "
    "User.Read.All cannot be confined by either and stay tenant-wide.")


def grant_graph_roles(ids: RunIds) -> Remediation:
    permissions = " ".join(f"{rid}=Role" for rid in GRAPH_ROLE_IDS.values())
    return Remediation(
        f"Add the Microsoft Graph application permissions server-side sync needs to the app {ids.client_id} and "
        f"grant admin consent in tenant {ids.exchange_tenant}.",
        steps=(f"Run Microsoft's script Grant-SssGraphApplicationPermissions.ps1 ({GRAPH_SCRIPT}) as a Global "
               f"Administrator of tenant {ids.exchange_tenant} (Microsoft's page says a Global Administrator must run "
               "it); it adds the roles and grants consent, and expects the app registration in that same tenant.",
               "Or add them by hand: " + app_registration(
                   ids, f"API permissions > Add a permission > Microsoft Graph > Application permissions > "
                        f"{', '.join(GRAPH_ROLE_IDS)}"),
               f"Then grant admin consent in tenant {ids.exchange_tenant}: {consent_url(ids)}",
               *consent_risks(ids, graph_roles=True), GRAPH_ROLES_REACH),
        commands=(f".\\Grant-SssGraphApplicationPermissions.ps1 -TenantId {ids.exchange_tenant} "
                  f"-ClientId {ids.client_id}",
                  f"az ad app permission add --id {ids.client_id} --api {GRAPH_APP_ID} "
                  f"--api-permissions {permissions}"),
        links=(SCOPING, LIMIT_MAILBOX_ACCESS),
    )


@check("GRA-001", "The Microsoft Graph application permissions server-side sync needs are admin-consented in the "
       "Exchange tenant", Severity.HIGH, link="consent", remedy=grant_graph_roles,
       references=(LEARN_CROSS_TENANT, GRAPH_SCRIPT, GRAPH_APP_ROLE_ASSIGNMENTS), depends_on=("EXO-001",))
def graph_permissions_are_consented(client_service_principal: Mapping[str, Any] | None,
                                    graph_resource_sp: Mapping[str, Any] | None,
                                    app_role_assignments: list[Mapping[str, Any]], client_id: str) -> CheckResult:
    """Exchange Online is retiring EWS and Dynamics is moving cross-tenant sync to Microsoft Graph, so the app now
    also needs Graph application permissions in tenant B. The documentation lists ten roles; Microsoft's own script
    grants those plus User.Read.All, and this check asks for all eleven, looked up by name."""
    subject = app_subject(client_id)
    if client_service_principal is None:
        yield skipped(subject, _NO_SP)
        return
    missing, unknown = missing_graph_roles(client_service_principal, graph_resource_sp, app_role_assignments)
    evidence: dict[str, Any] = {"required": list(GRAPH_ROLES), "missing": missing, "not_offered": unknown,
                "graph_service_principal_id": (graph_resource_sp or {}).get("id")}
    if not missing:
        yield passed(subject, f"app {client_id} holds all {len(GRAPH_ROLES)} Microsoft Graph application permissions "
                     "server-side sync needs in tenant B", **evidence)
        return
    where = ("tenant B has no Microsoft Graph service principal" if graph_resource_sp is None
             else f"tenant B's Microsoft Graph does not offer {names(unknown)}")
    yield failed(subject, f"app {client_id} lacks {len(missing)} of the {len(GRAPH_ROLES)} Microsoft Graph "
                 f"application permissions server-side sync needs in tenant B: {', '.join(missing)}"
                 + (f" ({where})" if unknown else ""), **evidence)
