"""Microsoft's own service principals as they appear in every tenant: app ids, app roles and their real ids."""

from __future__ import annotations

from dataclasses import dataclass

MICROSOFT_TENANT = "f8cdef31-a31e-4b4a-93e4-5f571e91255a"  # owner of first-party apps (seen in public issues)


@dataclass(frozen=True)
class Resource:
    key: str  # how scenarios name it: "exchange", "graph", "dataverse"
    app_id: str
    display_name: str
    public_uri: str  # the resource URI in the public cloud (accepted besides the sandbox's own origin)
    roles: tuple[tuple[str, str, str], ...]  # (value, id, description)


EXCHANGE = Resource(
    "exchange", "00000002-0000-0ff1-ce00-000000000000", "Office 365 Exchange Online",
    "https://outlook.office365.com",
    (
        ("full_access_as_app", "dc890d15-9560-4a4c-9b7f-a736ec74ec40",
         "Use Exchange Web Services with full access to all mailboxes"),
        ("Exchange.ManageAsApp", "dc50a0fb-09a3-484d-be87-e023b12c6440",
         "Manage Exchange As Application"),
    ),
)

GRAPH = Resource(
    "graph", "00000003-0000-0000-c000-000000000000", "Microsoft Graph", "https://graph.microsoft.com",
    (
        # What server-side sync needs since 2026 (domain/ews-and-graph.md section 3).
        ("Mail.ReadWrite", "e2a3a72e-5f79-4c64-b1b1-878b674786c9", "Read and write mail in all mailboxes"),
        ("Mail.Send", "b633e1c5-b582-4048-a93e-9f11b44c7e96", "Send mail as any user"),
        ("MailboxSettings.ReadWrite", "6931bccd-447a-43d1-b442-00a195474933",
         "Read and write all user mailbox settings"),
        ("Calendars.ReadWrite", "ef54d2bf-783f-4e0f-bca1-3210c0444d99", "Read and write calendars in all mailboxes"),
        ("Contacts.ReadWrite", "6918b873-d17a-4dc1-b314-35f528134491", "Read and write contacts in all mailboxes"),
        ("Tasks.ReadWrite.All", "44e666d1-d276-445b-a5fc-8815eeb81d55", "Read and write all users' tasks"),
        ("MailboxConfigItem.ReadWrite", "aa6d92d4-b25a-4640-aefe-3e3231e5e736",
         "Read and write all users' mailbox configuration items"),
        ("Chat.Read.All", "6b7d71aa-70aa-4810-a8d9-5d9fb2830017", "Read all chat messages"),
        ("OnlineMeetings.ReadWrite.All", "b8bb2037-6e08-44ac-a4ea-4674e010e2a4", "Read and create online meetings"),
        ("CallRecords.Read.All", "45bbb07e-7321-4fd7-a8f6-3ff27e6a81c8", "Read all call records"),
        ("User.Read.All", "df021288-bdef-4463-88db-98f22de89214", "Read all users' full profiles"),
        # What the auditor's own identity may hold.
        ("Application.Read.All", "9a5d68dd-52b0-4cc2-bd40-abcf44ac3a30", "Read all applications"),
        ("Application.ReadWrite.All", "1bfefb4e-e0b5-418b-a88f-73c46d2cc8e9", "Read and write all applications"),
        ("Directory.Read.All", "7ab1d382-f21e-4acd-a863-ba3e13f7da61", "Read directory data"),
        ("Directory.ReadWrite.All", "19dbc75e-c2e2-444c-a770-ec69d8559fc7", "Read and write directory data"),
        ("Domain.Read.All", "dbb9058a-0e50-45d7-ae91-66909b5d4664", "Read domains"),
        ("Organization.Read.All", "498476ce-e0fe-48b0-b801-37ba7e2685c6", "Read organization information"),
        ("User.ReadWrite.All", "741f803b-c850-494e-b5df-cde7c675a1ca", "Read and write all users' full profiles"),
        ("Policy.Read.All", "246dd0d5-5bd0-4def-940b-0421030a5b68", "Read your organization's policies"),
        ("Policy.ReadWrite.ConditionalAccess", "01c0a623-fc9b-48e9-b794-0756f8e8f067",
         "Read and write your organization's conditional access policies"),
    ),
)

DATAVERSE = Resource(
    "dataverse", "00000007-0000-0000-c000-000000000000", "Dataverse", "https://admin.services.crm.dynamics.com",
    (),
)

# The Power Platform admin API's resource (api.bap.microsoft.com takes its tokens): no app roles, an app may call
# it once registered as a Power Platform management application.
POWERAPPS = Resource("powerapps", "475226c6-020e-4fb2-8a90-7a972cbfcc4f", "PowerApps Service",
                     "https://service.powerapps.com", ())

RESOURCES = {r.key: r for r in (EXCHANGE, GRAPH, DATAVERSE, POWERAPPS)}


def offered(services: frozenset[str], key: str) -> bool:
    """Whether a tenant of these services issues tokens for resource `key`: Power Platform comes with Dataverse."""
    return key in services or (key == POWERAPPS.key and DATAVERSE.key in services)


def role_id(resource: Resource, value: str) -> str:
    for role_value, rid, _ in resource.roles:
        if role_value == value:
            return rid
    raise KeyError(f"{resource.display_name} has no application role {value!r}")


def app_roles(resource: Resource) -> list[dict[str, object]]:
    """The `appRoles` collection of the resource's service principal, Graph-shaped."""
    return [
        {
            "allowedMemberTypes": ["Application"],
            "description": description,
            "displayName": description,
            "id": rid,
            "isEnabled": True,
            "origin": "Application",
            "value": value,
        }
        for value, rid, description in resource.roles
    ]
