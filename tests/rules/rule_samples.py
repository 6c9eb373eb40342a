"""What the rule tests share: tenant B's ids and Graph roles as Microsoft publishes them, the run's ids a fix is
written from, and calling a check the way the engine does."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from checks import registry
from checks.model import Outcome, Remediation, RunIds, Status
from checks.probes.dataverse import mailbox_subjects

CLIENT = "9b8c7d6e-5f4a-4b3c-8d2e-1f0a9b8c7d6e"
APP = f"app {CLIENT}"
TENANT_A = "7d3f2a10-5c1e-4b8a-9f2d-0a1b2c3d4e5f"
TENANT_B = "c4a1e9b2-8f3d-4e6a-b7c5-1d2e3f4a5b6c"
SP_ID = "0a1b2c3d-4e5f-4a6b-9c7d-8e9f0a1b2c3d"
GRAPH_ID = "1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f"
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
# The Microsoft Graph application roles server-side sync needs, by their public ids.
GRAPH_ROLES = {
    "Mail.ReadWrite": "e2a3a72e-5f79-4c64-b1b1-878b674786c9", "Mail.Send": "b633e1c5-b582-4048-a93e-9f11b44c7e96",
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
IDS = RunIds(client_id=CLIENT, exchange_tenant=TENANT_B, dynamics_tenant=TENANT_A, home_tenant=TENANT_B,
             environment_url="https://contoso.crm4.dynamics.com", login_host="https://login.microsoftonline.com",
             graph_host="https://graph.microsoft.com", portal_host="https://entra.microsoft.com",
             profile="Exchange Online cross-tenant (Contoso)", now=NOW)


def verdicts(outcomes: Iterable[Any]) -> list[tuple[Status, str]]:
    return [(o.status, o.subject) for o in outcomes]


def fix(check_id: str, outcome: Outcome, ids: RunIds = IDS) -> Remediation:
    """The remediation a finding of this outcome gets: its check's remedy, given the run's ids and the evidence."""
    return registry.load()[0][check_id].fix(ids, outcome.evidence)


def judged(check: Callable[..., Iterable[Any]], mailboxes: dict[str, Any], *evidence: Any) -> list[Any]:
    """A mailbox check's outcomes, given the rows' subjects as the engine gives them (the `mailbox_subjects` probe)."""
    return list(check(mailboxes, mailbox_subjects(mailboxes), *evidence))
