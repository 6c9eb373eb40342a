"""Remediation builders: the run's own ids turned into portal paths, pasteable commands and documentation links."""

from __future__ import annotations

from collections.abc import Sequence

from ..knowledge import Entry
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
ENTRA_CODES = "https://learn.microsoft.com/entra/identity-platform/reference-error-codes"
NATIONAL_CLOUDS = "https://learn.microsoft.com/entra/identity-platform/authentication-national-cloud"
FIND_TENANT_ID = "https://learn.microsoft.com/entra/fundamentals/how-to-find-tenant"
CUSTOM_DOMAINS = "https://learn.microsoft.com/entra/fundamentals/add-custom-domain"
SIGN_IN_LOGS = "https://learn.microsoft.com/entra/identity/monitoring-health/concept-service-principal-sign-ins"
EWS_ACCESS = ("https://learn.microsoft.com/exchange/client-developer/exchange-web-services/"
              "how-to-control-access-to-ews-in-exchange")
EWS_RETIREMENT = "https://learn.microsoft.com/exchange/clients-and-mobile-in-exchange-online/deprecation-of-ews-exchange-online"
SET_ORG_CONFIG = "https://learn.microsoft.com/powershell/module/exchangepowershell/set-organizationconfig"
SSS_MONITORING = ("https://learn.microsoft.com/troubleshoot/power-platform/dataverse/email-exchange-synchronization/"
                  "troubleshooting-monitoring-server-side-synchronization")
TRACELOG_TABLE = "https://learn.microsoft.com/power-apps/developer/data-platform/reference/entities/tracelog"

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


def known_fix(entry: Entry, steps: Sequence[str] = (), links: Sequence[str] = ()) -> Remediation:
    """The knowledge base's cause and fix for an error xtcheck recognised, ahead of the check's own steps."""
    return Remediation(entry.fix, steps=(f"Known cause ({entry.key}, {entry.title}): {entry.cause}", *steps),
                       links=tuple(dict.fromkeys((entry.link, *links))))


def find_exchange_tenant(ids: RunIds) -> Remediation:
    return Remediation(
        "Configure the Exchange tenant by its Directory (tenant) ID, in the cloud that holds it.",
        steps=("Sign in to the Microsoft Entra admin center of the tenant that holds the Exchange Online mailboxes and "
               "copy Overview > Tenant ID (not a subscription id, not the Dynamics tenant's id).",
               "Put it in xtcheck's config (exchange.tenant_id) and in the email server profile's TenantId.",
               f"If the tenant lives in a national cloud (US Government, China), set xtcheck's cloud to match; the "
               f"login host used now is {ids.login_host}."),
        commands=(f"curl -s {ids.login_host}/{ids.exchange_tenant}/v2.0/.well-known/openid-configuration",),
        links=(FIND_TENANT_ID, NATIONAL_CLOUDS, ENTRA_CODES),
    )


def fix_app_sign_in(ids: RunIds) -> Remediation:
    return Remediation(
        f"Make the app {ids.client_id} able to get an Exchange token from tenant {ids.exchange_tenant} with the "
        "secret the profile holds.",
        steps=("Read the AADSTS code in the finding: an invalid secret (7000215) means the profile or app.secret "
               "holds the Secret ID or an old value; an expired one (7000222) needs a new secret.",
               f"If the token carries no full_access_as_app, grant admin consent in tenant {ids.exchange_tenant}: "
               f"{consent_url(ids)}; new roles show only in tokens issued after the grant.",
               "Enter the same secret in the email server profile, then run Test & Enable on one mailbox."),
        links=(ENTRA_CODES, LEARN_CROSS_TENANT, SIGN_IN_LOGS),
    )


def allow_app_for_ews(client_id: str, listed: Sequence[str] | None = None) -> Remediation:
    """EwsEnabled true with the app added to EwsAllowedAppIDs, keeping every id already listed."""
    ids = ",".join(dict.fromkeys([*(listed if listed is not None else ["<ids already listed>"]), client_id]))
    return Remediation(
        f"Keep EWS open to the app {client_id} in the Exchange tenant until sync runs on Microsoft Graph: "
        "EwsEnabled true and the app in EwsAllowedAppIDs.",
        steps=("In Exchange Online PowerShell, as an Exchange administrator of the Exchange tenant, read the list "
               "first: -EwsAllowedAppIDs replaces the whole list, so read it, merge the app's id in, and write "
               "every id back.",
               "Changes take up to 24 hours to apply (server-side caching); then run Test & Enable on one mailbox.",
               "If EwsApplicationAccessPolicy is EnforceAllowList, EwsAllowList must also admit Dynamics' user agent "
               "(CRM/*); with EnforceBlockList, EwsBlockList must not list it."),
        commands=("Connect-ExchangeOnline",
                  "Get-OrganizationConfig -RetrieveEwsOperationAccessPolicy | Format-List EwsEnabled,EwsAllowedAppIDs,"
                  "EwsApplicationAccessPolicy,EwsAllowList,EwsBlockList",
                  f'Set-OrganizationConfig -EwsEnabled $true -EwsAllowedAppIDs "{ids}"'),
        links=(EWS_ACCESS, SET_ORG_CONFIG, EWS_RETIREMENT),
    )


def allow_app_for_ews_for_run(ids: RunIds) -> Remediation:
    return allow_app_for_ews(ids.client_id)


def admit_dynamics_user_agent(blocked: Sequence[str] = ()) -> Remediation:
    remove = ",".join(f'"{entry}"' for entry in blocked)
    command = (f"Set-OrganizationConfig -EwsBlockList @{{Remove={remove}}}" if blocked
               else 'Set-OrganizationConfig -EwsAllowList @{Add="CRM/*"}')
    return Remediation(
        "Let Dynamics' EWS user agent (CRM/*) through the organization's EWS user-agent policy.",
        steps=("Both the app id list and the user-agent list must admit a request; the user-agent lists also "
               "apply to REST and Graph traffic.",
               "Changes can take up to 24 hours; then run Test & Enable on one mailbox."),
        commands=("Connect-ExchangeOnline", command),
        links=(EWS_ACCESS, SET_ORG_CONFIG),
    )


def retest_profile(ids: RunIds) -> Remediation:
    name = ids.profile or "the cross-tenant profile"
    return Remediation(
        f"Fix what the last test of {name} reported, then test it again.",
        steps=(_profiles(ids, f"open {name} > read Last Test Result and its message"),
               "An authorization failure points at the app: its client id, tenant id or secret in the profile, or "
               f"consent in tenant {ids.exchange_tenant} (run xtcheck's APP, EXO and PRF checks).",
               "Then run Test & Enable on one mailbox of the profile."),
        links=(LEARN_CROSS_TENANT, PROFILE_TABLE, SSS_MONITORING),
    )


SYNC_STEPS = ("Read the mailbox's or profile's Alerts (Common > Alerts) for the full error and its times.",
              "After fixing the cause, run Test & Enable Mailbox and check that Last Successful Sync Completed On "
              "moves forward.")


def restore_mailbox_sync(ids: RunIds) -> Remediation:
    return Remediation(
        "Read the mailbox's alerts, fix their cause, then run Test & Enable on it.",
        steps=(_mailboxes(ids, "Alerts (under Common) for the errors and their times"),
               "Fix the cause the alert names (the finding names a known cause when xtcheck recognises it); a whole "
               "profile failing at once points at the app's secret or consent.",
               "Run Test & Enable Mailbox and check that Last Successful Sync Completed On moves forward."),
        links=(SSS_MONITORING, MAILBOX_TABLE, TRACELOG_TABLE),
    )


def fix_mailbox_domain(ids: RunIds) -> Remediation:
    return Remediation(
        f"Give the mailbox an address in a verified domain of tenant {ids.exchange_tenant}, or verify its domain "
        "there.",
        steps=(_mailboxes(ids, "check Email Address against the user's mail addresses in the Exchange tenant"),
               f"If the domain belongs to tenant {ids.exchange_tenant}, add and verify it there (a subdomain is a "
               "separate domain and needs verifying on its own).",
               "Then Approve Email (an address change resets the approval) and run Test & Enable."),
        links=(CUSTOM_DOMAINS, LEARN_CROSS_TENANT, MAILBOX_TABLE),
    )
