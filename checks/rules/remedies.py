"""Remediation builders: the run's own ids turned into portal paths, pasteable commands and documentation links."""

from __future__ import annotations

from ..model import Remediation, RunIds
from ..probes.entra import EXCHANGE_APP_ID, GRAPH_APP_ID
from . import FULL_ACCESS_ROLE_ID

LEARN_CROSS_TENANT = "https://learn.microsoft.com/power-platform/admin/connect-exchange-online-server-profile-oauth"
LEARN_EXCHANGE_ONLINE = "https://learn.microsoft.com/power-platform/admin/connect-exchange-online"
GRAPH_APPLICATION = "https://learn.microsoft.com/graph/api/resources/application"
GRAPH_CREDENTIAL_DOC = "https://learn.microsoft.com/graph/api/resources/passwordcredential"
GRAPH_SERVICE_PRINCIPAL = "https://learn.microsoft.com/graph/api/resources/serviceprincipal"
GRAPH_APP_ROLE_ASSIGNMENTS = "https://learn.microsoft.com/graph/api/serviceprincipal-list-approleassignments"
ACCOUNT_TYPES = "https://learn.microsoft.com/entra/identity-platform/supported-accounts-validation"
PROFILE_TABLE = "https://learn.microsoft.com/power-apps/developer/data-platform/reference/entities/emailserverprofile"
MAILBOX_TABLE = "https://learn.microsoft.com/power-apps/developer/data-platform/reference/entities/mailbox"
PROFILE_FORM_ISSUE = "https://github.com/MicrosoftDocs/power-platform/issues/2608"
GRAPH_SCRIPT = "https://github.com/microsoft/PowerApps-Samples/tree/master/powershell/ServerSideSync"

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


def consent_url(ids: RunIds) -> str:
    return f"{ids.login_host}/{ids.exchange_tenant}/adminconsent?client_id={ids.client_id}"


def _enterprise_app(ids: RunIds, tail: str) -> str:
    return (f"Microsoft Entra admin center ({ids.portal_host}), signed in to tenant {ids.exchange_tenant}: "
            f"Enterprise applications > the app with client id {ids.client_id} > {tail}")


def _app_registration(ids: RunIds, tail: str) -> str:
    return (f"Microsoft Entra admin center ({ids.portal_host}), signed in to the app's home tenant {ids.home_tenant}: "
            f"App registrations > All applications > the app with client id {ids.client_id} > {tail}")


def _profiles(ids: RunIds, tail: str) -> str:
    return (f"Power Platform admin center > Environments > the environment at {ids.environment_url} > Settings > "
            f"Email > Server profiles > {tail} (or open {ids.environment_url}/main.aspx?pagetype=entitylist"
            "&etn=emailserverprofile)")


def _mailboxes(ids: RunIds, tail: str) -> str:
    return (f"Power Platform admin center > Environments > the environment at {ids.environment_url} > Settings > "
            f"Email > Mailboxes > Active Mailboxes > select the mailbox > {tail} (or open "
            f"{ids.environment_url}/main.aspx?pagetype=entitylist&etn=mailbox)")


def register_app(ids: RunIds) -> Remediation:
    return Remediation(
        "Point xtcheck and the email server profile at an app registration that exists, or register one.",
        steps=(f"Check the client id {ids.client_id}: it must be the app's Application (client) ID, not its "
               "Object ID or a secret id.",
               f"If the app was deleted, restore it (App registrations > Deleted applications) or register a new "
               f"multitenant app in tenant {ids.exchange_tenant} and put its client id in the profile.",),
        commands=(f"az login --tenant {ids.home_tenant} --allow-no-subscriptions",
                  f"az ad app show --id {ids.client_id} --query \"{{appId:appId,displayName:displayName}}\"",
                  'az ad app create --display-name "Dynamics 365 cross-tenant sync" '
                  "--sign-in-audience AzureADMultipleOrgs"),
        links=(LEARN_CROSS_TENANT, GRAPH_APPLICATION),
    )


def make_multitenant(ids: RunIds) -> Remediation:
    return Remediation(
        f"Set the app {ids.client_id} to 'Accounts in any organizational directory' (AzureADMultipleOrgs).",
        steps=(_app_registration(ids, "Authentication > Supported account types > Accounts in any organizational "
                                      "directory > Save"),),
        commands=(f"az login --tenant {ids.home_tenant} --allow-no-subscriptions",
                  f"az ad app update --id {ids.client_id} --sign-in-audience AzureADMultipleOrgs"),
        links=(ACCOUNT_TYPES, GRAPH_APPLICATION, LEARN_CROSS_TENANT),
    )


def request_full_access(ids: RunIds) -> Remediation:
    return Remediation(
        f"Request full_access_as_app on Office 365 Exchange Online as an application permission for the app "
        f"{ids.client_id}, then grant admin consent in tenant {ids.exchange_tenant}.",
        steps=(_app_registration(ids, "API permissions > Add a permission > APIs my organization uses > Office 365 "
                                      "Exchange Online > Application permissions > full_access_as_app"),
               "Remove Exchange permissions picked by mistake (a delegated EWS.AccessAsUser.All, "
               "Exchange.ManageAsApp) unless something else needs them.",
               f"Grant admin consent as an administrator of tenant {ids.exchange_tenant}: {consent_url(ids)}"),
        commands=(f"az login --tenant {ids.home_tenant} --allow-no-subscriptions",
                  f"az ad app permission add --id {ids.client_id} --api {EXCHANGE_APP_ID} "
                  f"--api-permissions {FULL_ACCESS_ROLE_ID}=Role"),
        links=(LEARN_CROSS_TENANT, "https://learn.microsoft.com/graph/api/resources/requiredresourceaccess"),
    )


def rotate_secret(client_id: str, home_tenant: str, name: str = "sss-new") -> Remediation:
    """A new secret for the app, then the profile updated with its value (the form hides the secret field)."""
    return Remediation(
        f"Add a new client secret to the app {client_id}, enter its value in the email server profile, and remove "
        "the old secret once sync runs on the new one.",
        steps=(f"Sign in to the app's home tenant {home_tenant} and add a secret (App registrations > the app > "
               "Certificates & secrets > New client secret); copy its Value, not its Secret ID.",
               "Paste the new value into the email server profile's client secret. The profile form hides that "
               f"field once saved (known issue: {PROFILE_FORM_ISSUE}); if you cannot reach it, create a new "
               "cross-tenant profile with the same values and move the mailboxes to it.",
               "Run Test & Enable on one mailbox, then on all of them; delete the old secret afterwards."),
        commands=(f"az login --tenant {home_tenant} --allow-no-subscriptions",
                  f"az ad app credential reset --id {client_id} --append --display-name {name} --years 1"),
        links=(GRAPH_CREDENTIAL_DOC, LEARN_CROSS_TENANT, PROFILE_FORM_ISSUE),
    )


def rotate_secret_for_run(ids: RunIds) -> Remediation:
    return rotate_secret(ids.client_id, ids.home_tenant)


def _connect_b(ids: RunIds) -> str:
    return (f"Connect-MgGraph -TenantId {ids.exchange_tenant} "
            "-Scopes Application.Read.All,AppRoleAssignment.ReadWrite.All")


def create_service_principal(ids: RunIds) -> Remediation:
    return Remediation(
        f"Give admin consent for the app {ids.client_id} in tenant {ids.exchange_tenant}; that creates its enabled "
        "service principal (enterprise application) there.",
        steps=(f"As an administrator of tenant {ids.exchange_tenant}, open {consent_url(ids)} and accept.",
               _enterprise_app(ids, "Properties > Enabled for users to sign in = Yes (if it exists but is "
                                    "disabled)")),
        commands=(f"az login --tenant {ids.exchange_tenant} --allow-no-subscriptions",
                  f"az ad sp create --id {ids.client_id}",
                  f"az ad sp update --id {ids.client_id} --set accountEnabled=true"),
        links=(LEARN_CROSS_TENANT, GRAPH_SERVICE_PRINCIPAL),
    )


def grant_full_access(ids: RunIds) -> Remediation:
    return Remediation(
        f"Grant admin consent for full_access_as_app (Office 365 Exchange Online) to the app {ids.client_id} in "
        f"tenant {ids.exchange_tenant}.",
        steps=(f"As an administrator of tenant {ids.exchange_tenant}, open {consent_url(ids)} and accept.",
               _enterprise_app(ids, "Security > Permissions > Grant admin consent"),
               "A role such as Exchange.ManageAsApp opens no mailbox: full_access_as_app is still needed."),
        commands=(_connect_b(ids),
                  f"$sp = Get-MgServicePrincipal -Filter \"appId eq '{ids.client_id}'\"",
                  f"$exo = Get-MgServicePrincipal -Filter \"appId eq '{EXCHANGE_APP_ID}'\"",
                  "New-MgServicePrincipalAppRoleAssignment -ServicePrincipalId $sp.Id -PrincipalId $sp.Id "
                  f"-ResourceId $exo.Id -AppRoleId {FULL_ACCESS_ROLE_ID}"),
        links=(LEARN_CROSS_TENANT, GRAPH_APP_ROLE_ASSIGNMENTS),
    )


def grant_graph_roles(ids: RunIds) -> Remediation:
    permissions = " ".join(f"{rid}=Role" for rid in GRAPH_ROLE_IDS.values())
    return Remediation(
        f"Add the Microsoft Graph application permissions server-side sync needs to the app {ids.client_id} and "
        f"grant admin consent in tenant {ids.exchange_tenant}.",
        steps=(f"Run Microsoft's script Grant-SssGraphApplicationPermissions.ps1 ({GRAPH_SCRIPT}) as a Global "
               f"Administrator of tenant {ids.exchange_tenant}; it adds the roles and grants consent, and expects the "
               "app registration in that same tenant.",
               "Or add them by hand: " + _app_registration(
                   ids, f"API permissions > Add a permission > Microsoft Graph > Application permissions > "
                        f"{', '.join(GRAPH_ROLE_IDS)}"),
               f"Then grant admin consent as an administrator of tenant {ids.exchange_tenant}: {consent_url(ids)}"),
        commands=(f".\\Grant-SssGraphApplicationPermissions.ps1 -TenantId {ids.exchange_tenant} "
                  f"-ClientId {ids.client_id}",
                  f"az ad app permission add --id {ids.client_id} --api {GRAPH_APP_ID} "
                  f"--api-permissions {permissions}"),
        links=(LEARN_CROSS_TENANT, GRAPH_SCRIPT, GRAPH_APP_ROLE_ASSIGNMENTS),
    )


def fix_profile(ids: RunIds) -> Remediation:
    name = ids.profile or "the cross-tenant profile"
    return Remediation(
        f"Activate or re-create the Exchange Online 'Oauth (Cross Tenant)' email server profile {name}, or name the "
        "right one in the config (dynamics.profile).",
        steps=(_profiles(ids, f"select {name} > Activate"),
               "If it does not exist: New server profile > Email Server Type = Exchange Online, Authentication "
               f"Type = Oauth (Cross Tenant), TenantId = {ids.exchange_tenant}, Application ID = {ids.client_id}, "
               "Client secret = the secret's value; then move the mailboxes to it.",
               "If several profiles qualify, set dynamics.profile to the name or id of the one to audit."),
        links=(LEARN_EXCHANGE_ONLINE, LEARN_CROSS_TENANT, PROFILE_TABLE),
    )


def fix_profile_settings(ids: RunIds) -> Remediation:
    name = ids.profile or "the cross-tenant profile"
    return Remediation(
        f"Make {name} an Exchange Online profile with Authentication Type 'Oauth (Cross Tenant)' and its client "
        "secret set.",
        steps=(_profiles(ids, f"open {name}"),
               "Email Server Type = Exchange Online; Authentication Type = Oauth (Cross Tenant); "
               f"TenantId = {ids.exchange_tenant}; Application ID = {ids.client_id}; Client secret = the value of a "
               "valid secret (not its Secret ID).",
               f"The saved form hides these fields (known issue: {PROFILE_FORM_ISSUE}); if you cannot edit them, "
               "create a new profile with these values and move the mailboxes to it, then run Test & Enable."),
        links=(LEARN_CROSS_TENANT, LEARN_EXCHANGE_ONLINE, PROFILE_TABLE, PROFILE_FORM_ISSUE),
    )


def fix_profile_client_id(ids: RunIds) -> Remediation:
    name = ids.profile or "the cross-tenant profile"
    return Remediation(
        f"Enter the app's Application (client) ID {ids.client_id} in {name}.",
        steps=(_profiles(ids, f"open {name} > Application ID = {ids.client_id}"),
               "Copy the Application (client) ID from the app's overview page, not the Object ID beside it.",
               f"If the form hides the field (known issue: {PROFILE_FORM_ISSUE}), create a new profile with the right "
               "values and move the mailboxes to it; then run Test & Enable."),
        links=(LEARN_CROSS_TENANT, PROFILE_TABLE, PROFILE_FORM_ISSUE),
    )


def fix_profile_tenant(ids: RunIds) -> Remediation:
    name = ids.profile or "the cross-tenant profile"
    return Remediation(
        f"Enter tenant B's tenant id {ids.exchange_tenant} in {name}.",
        steps=(_profiles(ids, f"open {name} > TenantId = {ids.exchange_tenant}"),
               "Copy the Tenant ID from the Exchange tenant's Microsoft Entra overview page (not a subscription id).",
               f"If the form hides the field (known issue: {PROFILE_FORM_ISSUE}), create a new profile with the right "
               "values and move the mailboxes to it; then run Test & Enable."),
        links=(LEARN_CROSS_TENANT, PROFILE_TABLE),
    )


def fix_mailbox_delivery(ids: RunIds) -> Remediation:
    name = ids.profile or "the cross-tenant profile"
    return Remediation(
        f"Point the mailbox at {name} and set every delivery method to server-side synchronization.",
        steps=(_mailboxes(ids, "Edit"),
               f"Server Profile = {name}; Incoming Email = Server-Side Synchronization or Email Router; Outgoing "
               "Email = Server-Side Synchronization or Email Router; Appointments, Contacts, and Tasks = "
               "Server-Side Synchronization.",
               "Save, then Test & Enable Mailbox. 'Apply Default Email Settings' moves mailboxes to the default "
               "profile, which may be the same-tenant one."),
        links=(LEARN_EXCHANGE_ONLINE, MAILBOX_TABLE),
    )


def approve_mailbox(ids: RunIds) -> Remediation:
    return Remediation(
        "Approve the mailbox's email address, then run Test & Enable.",
        steps=(_mailboxes(ids, "Approve Email"),
               "Approve as a Global or Exchange administrator who is also System Administrator in Dynamics; for the "
               "cross-tenant profile the approver must be an administrator of the primary tenant.",
               "Then Test & Enable Mailbox."),
        links=(LEARN_EXCHANGE_ONLINE, LEARN_CROSS_TENANT, MAILBOX_TABLE),
    )


def run_test_and_enable(ids: RunIds) -> Remediation:
    return Remediation(
        "Run Test & Enable on the mailbox and read its alerts if it fails.",
        steps=(_mailboxes(ids, "Test & Enable Mailbox"),
               "Wait for the test to finish, then check Incoming Email Status, Outgoing Email Status and "
               "Appointments, Contacts, and Tasks Status; on failure open the mailbox's Alerts for the cause.",
               "A mailbox that fails with 401 while others pass is often left out by an Exchange application access "
               "policy or RBAC scope in the Exchange tenant."),
        links=(LEARN_EXCHANGE_ONLINE, MAILBOX_TABLE),
    )
