"""The entries behind `xtcheck explain`: AADSTS codes, sync codes, alerts, EWS policy reasons and Graph errors."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Entry:
    """One known error: where it comes from, what it means, what to do, and how to recognise it in a longer text.

    `codes` are canonical codes matched as whole tokens both by lookup and in longer texts ("AADSTS90033",
    "8005E272", "80042F0A" for the signed decimal -2147209462); the key counts as a code when it looks like one.
    `phrases` are lower-case substrings matched case-insensitively in longer texts. `aliases` are names or codes
    that an exact lookup accepts but a longer text never triggers, for codes too generic to scan for.
    """

    key: str
    family: str
    title: str
    cause: str
    fix: str
    link: str
    checks: tuple[str, ...] = ()
    phrases: tuple[str, ...] = ()
    codes: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()


FAMILIES = ("aadsts", "sync-code", "alert-text", "ews-policy", "graph-error", "undocumented")

# Microsoft Learn pages (the Microsoft-owned GitHub sources of each are named in the comments where they differ).
_ENTRA_CODES = "https://learn.microsoft.com/entra/identity-platform/reference-error-codes"
_ENTRA_TROUBLESHOOT = "https://learn.microsoft.com/troubleshoot/entra/entra-id/app-integration/"
_ADD_CREDENTIALS = "https://learn.microsoft.com/entra/identity-platform/how-to-add-credentials"
_WORKLOAD_IDENTITY = "https://learn.microsoft.com/entra/workload-id/workload-identity-federation"
_CERT_CREDENTIALS = "https://learn.microsoft.com/entra/identity-platform/certificate-credentials"
_ADMIN_CONSENT = "https://learn.microsoft.com/entra/identity/enterprise-apps/grant-admin-consent"
_SP_LESS = "https://learn.microsoft.com/entra/identity-platform/deprecate-service-principal-less-authentication"
_NATIONAL_CLOUDS = "https://learn.microsoft.com/entra/identity-platform/authentication-national-cloud"
_CA_WORKLOADS = "https://learn.microsoft.com/entra/identity/conditional-access/workload-identity"
_SECURITY_DEFAULTS = "https://learn.microsoft.com/entra/fundamentals/security-defaults"
_SSS_TROUBLESHOOT = "https://learn.microsoft.com/troubleshoot/power-platform/dataverse/email-exchange-synchronization/"
_SSS_MONITORING = _SSS_TROUBLESHOOT + "troubleshooting-monitoring-server-side-synchronization"
_CONNECT_EXO = "https://learn.microsoft.com/power-platform/admin/connect-exchange-online"
_EWS_ACCESS = ("https://learn.microsoft.com/exchange/client-developer/exchange-web-services/"
               "how-to-control-access-to-ews-in-exchange")
_GRAPH_MAILBOX_SCOPE = "https://learn.microsoft.com/graph/auth-limit-mailbox-access"

_RERUN = "Then select Test & Enable Mailbox on the affected mailboxes: server-side sync disables them on this error."

_AADSTS: tuple[Entry, ...] = (
    Entry(
        "AADSTS90002", "aadsts", "Tenant not found",
        "Entra ID has no tenant with the ID or domain the token request named, at least not in this cloud. The "
        "profile's Exchange tenant ID is mistyped, is a domain nobody verified, or belongs to a national cloud.",
        "Copy the Directory (tenant) ID from Microsoft Entra admin center > Overview, signed in to the Exchange "
        "tenant, into the email server profile and the xtcheck config. A tenant in a national cloud needs that "
        "cloud's sign-in host.",
        _ENTRA_CODES, ("PRF-004", "EXO-004", "EXO-003")),
    Entry(
        "AADSTS90038", "aadsts", "Tenant belongs to another national cloud",
        "The tenant exists, but in a different cloud (for example US Government or China) from the sign-in host "
        "the request went to, and the two clouds do not trust each other.",
        "Use the sign-in, Graph and Exchange hosts of the cloud that holds the Exchange tenant (xtcheck's cloud "
        "setting), check that Dataverse can reach that cloud at all, and set the email server profile's Server "
        "Authority to that cloud.",
        _NATIONAL_CLOUDS, ("EXO-004", "PRF-006", "EXO-003")),
    Entry(
        "AADSTS700016", "aadsts", "Application not found in the tenant",
        "No application with this client ID is known in the tenant that was asked for a token: the ID is wrong "
        "(often the object ID or a secret ID was pasted), the app was deleted, it is single-tenant in another "
        "tenant, or it has no service principal in the Exchange tenant. Newer sign-ins report that last case as "
        "AADSTS7000229; where Entra draws the line between the two codes is not documented.",
        "Compare the profile's client ID with the Application (client) ID on the app's Overview page. If the app "
        "lives in another tenant, make it multitenant and have an admin of the Exchange tenant grant admin "
        "consent, which creates its service principal there.",
        _ENTRA_CODES, ("APP-001", "APP-002", "PRF-003", "EXO-001", "EXO-003")),
    Entry(
        "AADSTS7000229", "aadsts", "Application has no service principal in the tenant",
        "The app registration exists, but the Exchange tenant holds no enterprise application (service principal) "
        "for it, so nobody there has consented. Microsoft's error table does not list this code; older sign-ins "
        "showed AADSTS700016 for the same situation, and the boundary between the two is uncertain.",
        "An admin of the Exchange tenant opens https://login.microsoftonline.com/<tenant-id>/adminconsent?"
        "client_id=<client-id> and accepts, which creates the service principal and grants full_access_as_app. "
        "Tokens without a service principal are being refused everywhere, so there is no way around this step.",
        _SP_LESS, ("EXO-001", "EXO-002", "EXO-003")),
    Entry(
        "AADSTS7000112", "aadsts", "Application is disabled",
        "Entra ID refuses tokens because the app is switched off: usually its service principal in the Exchange "
        "tenant has accountEnabled set to false; or Microsoft disabled the registration or its service principal "
        "(disabledByMicrosoftStatus DisabledDueToViolationOfServicesAgreement).",
        "In the Exchange tenant open Microsoft Entra admin center > Enterprise applications > the app > "
        "Properties and set 'Enabled for users to sign-in?' to Yes, then save. An app Microsoft disabled stays "
        "disabled: ask Microsoft support, and register a new app meanwhile.",
        _ENTRA_TROUBLESHOOT + "error-code-aadsts7000112-application-is-disabled",
        ("EXO-001", "APP-005", "EXO-003")),
    Entry(
        "AADSTS7000215", "aadsts", "Invalid client secret",
        "The secret sent does not match any secret of the app (HTTP 401). Most often the secret's ID, a GUID, was "
        "entered in the profile instead of its value, or the value was cut short or belongs to another app.",
        "In App registrations > the app > Certificates & secrets create a new client secret, copy its Value "
        "(shown only once) and paste it into the email server profile's client secret field.",
        _ADD_CREDENTIALS, ("APP-004", "PRF-002", "EXO-003")),
    Entry(
        "AADSTS7000222", "aadsts", "Client secret expired",
        "The client secret the profile sends has passed its end date, so Entra ID no longer accepts it and "
        "server-side sync cannot get a token for Exchange.",
        "In App registrations > the app > Certificates & secrets add a new secret, paste its Value into the email "
        "server profile, and delete the expired one afterwards. " + _RERUN,
        _ADD_CREDENTIALS, ("APP-004", "EXO-003")),
    Entry(
        "AADSTS7000218", "aadsts", "No client secret sent",
        "The token request carried neither a client secret nor a signed client assertion: the secret field of "
        "the profile (or of xtcheck's credentials) is empty.",
        "Create a secret under App registrations > the app > Certificates & secrets and enter its Value in the "
        "email server profile's client secret field (and in xtcheck's config when it tests the live token).",
        _ENTRA_TROUBLESHOOT + "confidential-client-application-authentication-error-aadsts7000218",
        ("PRF-002", "EXO-003")),
    Entry(
        "AADSTS700027", "aadsts", "Client assertion failed signature validation",
        "A certificate credential was used and Entra ID could not verify the signed assertion: the certificate "
        "is not uploaded to this app, the private key belongs to another certificate, or the chain is in the "
        "wrong order. The cross-tenant profile itself documents only client secrets.",
        "Upload the public certificate that matches the private key under App registrations > the app > "
        "Certificates & secrets and compare thumbprints; in a PEM file put the leaf certificate first.",
        _CERT_CREDENTIALS, ("EXO-003",)),
    Entry(
        "AADSTS700213", "aadsts", "No federated credential matches the token's subject",
        "The reader signed in with a workload identity token (federated_token_file) whose subject matches none of "
        "the app's federated credentials: another branch, a job that declares an environment, or another "
        "Kubernetes service account than the one registered.",
        "Add a federated credential for exactly that subject (App registrations > the reader app > Certificates & "
        "secrets > Federated credentials), or run the job where the registered subject applies.",
        _WORKLOAD_IDENTITY, ()),
    Entry(
        "AADSTS700211", "aadsts", "No federated credential matches the token's issuer",
        "The workload identity token's issuer is not the issuer of any of the app's federated credentials.",
        "Register a federated credential with the issuer the token names (GitHub: "
        "https://token.actions.githubusercontent.com; AKS: the cluster's OIDC issuer URL).",
        _WORKLOAD_IDENTITY, ()),
    Entry(
        "AADSTS700212", "aadsts", "No federated credential matches the token's audience",
        "The workload identity token was issued for another audience than the app's federated credential expects.",
        "Request the token for the audience api://AzureADTokenExchange, or register the audience you use.",
        _WORKLOAD_IDENTITY, ()),
    Entry(
        "AADSTS700024", "aadsts", "The workload identity token has expired",
        "The client assertion read from federated_token_file is outside its validity window; such tokens live "
        "minutes, not hours.",
        "Write a fresh token to the file right before xtcheck runs (xtcheck re-reads it at every sign-in).",
        _WORKLOAD_IDENTITY, ()),
    Entry(
        "AADSTS500011", "aadsts", "Exchange Online not found in the tenant",
        "The tenant has no service principal for the requested resource, here Office 365 Exchange Online: the "
        "request went to the wrong tenant, the tenant has no Exchange Online, or the resource URI belongs to "
        "another cloud.",
        "Check that the profile's tenant ID is the tenant that hosts the mailboxes and that the scope is that "
        "cloud's Exchange resource (https://outlook.office365.com/.default in the public cloud).",
        _ENTRA_TROUBLESHOOT + "error-code-aadsts500011-resource-principal-not-found",
        ("EXO-004", "PRF-004", "EXO-003")),
    Entry(
        "AADSTS500014", "aadsts", "Exchange Online's service principal is disabled",
        "The resource's service principal in the tenant, Office 365 Exchange Online, is disabled, for instance "
        "after the subscription lapsed. Microsoft's error table does not list this code; the meaning comes from "
        "a community report.",
        "In the Exchange tenant check Enterprise applications (application type: Microsoft applications) > "
        "Office 365 Exchange Online is enabled, and that the Exchange Online subscription is active.",
        _ENTRA_CODES, ("EXO-004", "EXO-003")),
    Entry(
        "AADSTS65001", "aadsts", "Consent missing",
        "No user or admin has consented to the app using the resource. This is a delegated (user sign-in) error; "
        "an app-only request like server-side sync's usually shows missing consent as AADSTS7000229 or a token "
        "without roles instead.",
        "Have an admin of the Exchange tenant open Enterprise applications > the app > Permissions and select "
        "Grant admin consent, then confirm full_access_as_app and the Graph roles are listed.",
        _ADMIN_CONSENT, ("EXO-002", "GRA-001")),
    Entry(
        "AADSTS650051", "aadsts", "Consent failed: service principal already present (uncertain)",
        "Seen while granting consent, apparently when the app's service principal already exists or is half "
        "provisioned in the tenant. Microsoft does not document the code; this reading comes only from "
        "third-party sources, and it is not a token error of server-side sync itself.",
        "Look for the app under Enterprise applications in the Exchange tenant; if it is there, grant consent "
        "from its Permissions page instead of the consent URL, or wait a few minutes and retry.",
        _ADMIN_CONSENT, ("EXO-001", "EXO-002")),
    Entry(
        "AADSTS650052", "aadsts", "Organization lacks the service",
        "The app asks for a service the tenant has not subscribed to or has switched off; for this setup, "
        "usually Exchange Online missing or disabled in the tenant named in the profile.",
        "Confirm that the tenant named in the profile has an active Exchange Online subscription and an enabled "
        "Office 365 Exchange Online enterprise application, then grant consent again.",
        _ENTRA_CODES, ("EXO-004", "EXO-002")),
    Entry(
        "AADSTS650057", "aadsts", "Resource not among the app's requested permissions",
        "Consent or a token was requested for a resource, such as Office 365 Exchange Online or Microsoft Graph, "
        "that the app registration does not list under its API permissions.",
        "In App registrations > the app > API permissions add Office 365 Exchange Online > Application "
        "permissions > full_access_as_app (and the Graph application permissions), then grant admin consent in "
        "the Exchange tenant.",
        _ENTRA_CODES, ("APP-003", "GRA-001", "EXO-002")),
    Entry(
        "AADSTS53003", "aadsts", "Blocked by Conditional Access",
        "A Conditional Access policy for workload identities in the tenant refuses to issue a token to the app, "
        "for example because of where the request comes from.",
        "In Microsoft Entra admin center > Sign-in logs > Service principal sign-ins find the failure and the "
        "policy that applied, then exclude the app or change the policy's conditions.",
        _CA_WORKLOADS, ("EXO-003", "EXO-005")),
    Entry(
        "AADSTS530032", "aadsts", "Blocked by a tenant security policy",
        "A security policy set at tenant level blocks the request before a token is issued.",
        "Check the service principal sign-in logs of the tenant for the policy named in the failure and adjust "
        "it, or exempt the app, with the tenant's security admin.",
        _ENTRA_CODES, ("EXO-003",)),
    Entry(
        "AADSTS530035", "aadsts", "Blocked by security defaults",
        "Security defaults are on in the tenant and judged the request unsafe or legacy, so the sign-in was "
        "blocked.",
        "Review the sign-in in the tenant's sign-in logs; if the block must go, replace security defaults with "
        "Conditional Access policies that fit the app (Entra admin center > Overview > Properties).",
        _SECURITY_DEFAULTS, ("EXO-003",)),
    Entry(
        "AADSTS50034", "aadsts", "User account not found",
        "A user sign-in named an account that does not exist in the tenant. Client-credential tokens, which the "
        "cross-tenant profile uses, involve no user, so this comes from something signing in as a person.",
        "Check the user name and the tenant of the sign-in; use an account of that tenant (or invite it as a "
        "guest), and make sure the profile authenticates with the app's client ID and secret.",
        _ENTRA_CODES, ("PRF-002",)),
    Entry(
        "AADSTS90024", "aadsts", "Temporary Entra ID service error",
        "Entra ID had a passing problem (request budget, directory unavailable or an external service; codes "
        "90024, 90033 and 90006); nothing in the configuration is wrong. Server-side sync retries transient errors "
        "ten times, five minutes apart, before it disables the mailbox.",
        "Retry later. If the error lasts more than an hour, check Microsoft 365 service health and open a "
        "support case with the trace and correlation IDs from the error.",
        _ENTRA_CODES, ("EXO-003",), codes=("AADSTS90033", "AADSTS90006")),
    Entry(
        "AADSTS50000", "aadsts", "Error issuing a token (often a configuration cause)",
        "Entra ID could not issue the token. Microsoft documents configuration causes for this code, not only "
        "outages: for an app signing in as itself, chiefly a symmetric signing key on the app registration or its "
        "service principal (tokens must be signed by a certificate), and a resource that exposes no permission the "
        "request can use.",
        "In Microsoft Graph, look at the keyCredentials of the app and of its service principal in the Exchange "
        "tenant for an entry with type Symmetric and usage Sign, and remove it (certificate credentials only); if "
        "none is there and the error persists, open a support case with the trace and correlation IDs.",
        _ENTRA_TROUBLESHOOT + "error-code-aadsts50000-issuing-token-sign-in-service", ("EXO-003",)),
    Entry(
        "AADSTS50196", "aadsts", "Client loop detected",
        "Entra ID saw the same token request too often in too short a time and refuses it: a client using this app "
        "asks for tokens in a loop instead of caching them (Microsoft: check that token caching is implemented and "
        "errors are handled). It is the client's behaviour, not an outage.",
        "Find the client that signs in as this app in a loop (Microsoft Entra admin center > Sign-in logs > Service "
        "principal sign-ins, filtered by the app), stop or fix it, then retry.",
        _ENTRA_CODES, ("EXO-003",)),
    Entry(
        "AADSTS9001023", "aadsts", "Tenant-specific authority required",
        "The token request went to /common or /consumers, which does not serve this grant, resource or app "
        "(codes 9001023, 90124 and 90130): the tenant ID is missing from the configuration.",
        "Enter the Exchange tenant's ID (a GUID) in the email server profile and in xtcheck's config so that the "
        "authority is https://login.microsoftonline.com/<tenant-id>.",
        _ENTRA_CODES, ("PRF-004", "EXO-003"), codes=("AADSTS90124", "AADSTS90130")),
)

_SYNC_CODES: tuple[Entry, ...] = (
    Entry(
        "8005E272", "sync-code", "Exchange answered 401 Unauthorized during Test & Enable",
        "Exchange refused the identity of the email server profile while the mailbox was tested. With the "
        "cross-tenant OAuth profile that points at a wrong or expired secret, a wrong client or tenant ID, or "
        "missing full_access_as_app consent (inferred: Microsoft only says to check the profile's authorization).",
        "Correct the profile, re-apply it to the mailboxes (Mailboxes > select > Apply Default Email Settings, or "
        "Edit > Server Profile), then select Test & Enable Mailbox again.",
        _SSS_TROUBLESHOOT + "error-code-8005e272",
        ("APP-004", "EXO-002", "EXO-003", "PRF-002", "PRF-003", "PRF-004", "MBX-003")),
    Entry(
        "8005E273", "sync-code", "The mailbox's user is disabled in the Exchange tenant",
        "The Microsoft 365 user behind the mailbox address is disabled or blocked from sign-in in the tenant the "
        "email server profile points to.",
        "In the Exchange tenant's Microsoft 365 admin center > Users > Active users, open the user and unblock "
        "sign-in. " + _RERUN,
        _SSS_TROUBLESHOOT + "error-code-8005e273", ("MBX-006", "MBX-005", "MBX-003")),
    Entry(
        "8005E274", "sync-code", "Mailbox not enabled for REST (MailboxNotEnabledForRESTAPI)",
        "The Exchange mailbox for the address cannot be reached through the REST API: it has no Exchange Online "
        "licence, it is disabled, or it lives on-premises in a hybrid deployment.",
        "Assign an Exchange Online licence to the user in the Exchange tenant and allow time for the mailbox to be "
        "created; an on-premises mailbox needs an Exchange Server (Hybrid) profile instead.",
        _SSS_TROUBLESHOOT + "error-code-8005e274", ("MBX-006", "MBX-005", "MBX-003"),
        phrases=("mailboxnotenabledforrestapi",)),
    Entry(
        "8005E276", "sync-code", "No valid Exchange licence, or the user is not in Read-Write access mode",
        "Either the Microsoft 365 user behind the address has no valid Exchange licence, or the Dynamics 365 user "
        "who owns the mailbox is not in Read-Write access mode. Microsoft's article prints the code as 800046, "
        "apparently a typo.",
        "License the user for Exchange Online; in Dynamics 365 open the mailbox's owner > Administration and set "
        "Access Mode to Read-Write. Then Test & Enable the mailbox again.",
        _SSS_TROUBLESHOOT + "error-code-8005e276", ("MBX-005", "MBX-003")),
    Entry(
        "8005E259", "sync-code", "The mailbox's owner lacks privileges",
        "The Dataverse user or team that owns the mailbox lacks privileges server-side sync needs.",
        "In Power Platform admin center > Environments > the environment > Settings > Users + permissions > "
        "Security roles, give the owner a role with the missing privileges, then Test & Enable the mailbox.",
        _SSS_TROUBLESHOOT + "error-code-8005e259", ("MBX-003",)),
    Entry(
        "80042F0A", "sync-code", "UnknownIncomingEmailIntegrationError -2147209462: queue owner has no role",
        "Incoming email for a queue's mailbox fails because the team that owns the queue has no security role. "
        "The same error name with -2147220891 means something else (a plug-in or workflow aborted the record).",
        "Open the mailbox, follow its Regarding lookup to the queue, open the queue's owner and use Manage Roles "
        "to assign a security role.",
        _SSS_TROUBLESHOOT + "error-2147209462-logged-mailbox-record", ("MBX-003",),
        aliases=("UnknownIncomingEmailIntegrationError",)),
    Entry(
        "80040265", "sync-code", "A plug-in or workflow aborted the record (IsvAborted)",
        "Server-side sync could not create an email, appointment, contact or task because a synchronous plug-in "
        "or real-time workflow on that table failed; alerts show it as UnknownIncomingEmailIntegrationError "
        "-2147220891 or Crm.80040265.",
        "Find synchronous steps on Create of that table (Settings > Processes > Activated Processes, and the "
        "plug-in steps under Customize the System), then fix or temporarily disable the one that fails.",
        _SSS_TROUBLESHOOT + "unknownincomingemailintegrationerror-2147220891", ()),
    Entry(
        "InvalidIncomingEmailServerProfile", "sync-code", "Mailbox has no active email server profile",
        "The mailbox record has no email server profile, or the profile it points to is deactivated.",
        "Set the mailbox's Server Profile to the cross-tenant profile; if that profile is inactive, open Email "
        "Server Profiles > Inactive, select it and Activate. Then Test & Enable the mailbox.",
        _SSS_TROUBLESHOOT + "mailbox-does-not-have-email-server-profile", ("PRF-001", "MBX-001"),
        phrases=("invalidincomingemailserverprofile", "does not have an email server profile associated with it")),
    Entry(
        "NoUserFoundWithGivenClaims", "sync-code", "Mailbox user was deleted and re-created",
        "Exchange still resolves the address to a user who was deleted and re-created with the same address; the "
        "alert details may say the user does not exist in the tenant. Caches can keep the old identity for up to "
        "72 hours.",
        "In the Exchange tenant permanently delete the old user (Entra admin center > Users > Deleted users), "
        "make sure no other object holds the address, then Test & Enable again; if it persists after 72 hours, "
        "contact Microsoft Support.",
        _SSS_TROUBLESHOOT + "exception-when-using-server-side-sync", ("MBX-005", "MBX-003"),
        phrases=("nouserfoundwithgivenclaims", "user does not exist in tenant with id")),
)

_ALERT_TEXTS: tuple[Entry, ...] = (
    Entry(
        "http-401-unauthorized", "alert-text", "Exchange returned 401 Unauthorized",
        "Exchange rejected server-side sync's request. On the cross-tenant OAuth profile this points at the app: "
        "a wrong or expired secret, a wrong client or tenant ID, or no full_access_as_app consent in the Exchange "
        "tenant (inferred). Microsoft also names an address that differs from Exchange's, a Hybrid profile for a "
        "cloud mailbox, no Exchange licence, and Exchange in another tenant behind the default profile.",
        "Run xtcheck audit to find which of these holds, fix the app or profile, make sure the mailbox uses the "
        "cross-tenant profile and an address that exists in the Exchange tenant. " + _RERUN,
        _SSS_TROUBLESHOOT + "exception-when-using-server-side-sync",
        ("APP-004", "EXO-002", "EXO-003", "PRF-002", "PRF-003", "PRF-004", "MBX-001", "MBX-003", "MBX-005"),
        phrases=("http server returned 401", "returned 401 unauthorized")),
    Entry(
        "http-403-forbidden", "alert-text", "Exchange returned 403 Forbidden (EWS refused)",
        "Exchange refused the EWS call: EWS is off for the mailbox or the organization, or a policy leaves the "
        "caller out (the EwsAllowedAppIDs list of app IDs, or the older user-agent EwsAllowList/EwsBlockList). "
        "From October 2026 Microsoft switches EWS off tenant by tenant, and it ends on 1 April 2027.",
        "In Exchange Online PowerShell of the Exchange tenant run Get-OrganizationConfig "
        "-RetrieveEwsOperationAccessPolicy | fl Ews* and Get-CASMailbox <address> | fl EwsEnabled; enable EWS and "
        "add the app's client ID to EwsAllowedAppIDs. Changes can take up to 24 hours to apply.",
        _SSS_TROUBLESHOOT + "http-server-returned-forbidden-exception", ("EWS-001", "MBX-003"),
        phrases=("http server returned forbidden", "http status 403: forbidden")),
    Entry(
        "test-enable-no-user-found", "alert-text", "No user found with the mailbox's email address",
        "Test & Enable found no user whose UPN, SMTP address or mail address equals the mailbox's address in the "
        "tenant of the mailbox's email server profile. On a same-tenant profile this is also what a mailbox in "
        "another tenant looks like.",
        "Point the mailbox at the cross-tenant profile whose tenant ID is the Exchange tenant, and check that the "
        "address is on a user there (Microsoft 365 admin center > Users > Active users > the user > Mail).",
        _SSS_TROUBLESHOOT + "test-enable-fails-for-unrecognized-email-address", ("MBX-005", "MBX-001", "PRF-004"),
        phrases=("no user was found with the email address", "test and enable failed because no user was found")),
    Entry(
        "email-approval-required", "alert-text", "Mailbox email address not approved",
        "The mailbox's email address has not been approved, so server-side sync disabled it for sending and "
        "receiving.",
        "In Power Platform admin center > the environment > Settings > Email > Mailboxes select the mailboxes > "
        "Approve Email (needs a System Administrator who is also a Global or Exchange administrator), then Test & "
        "Enable Mailboxes.",
        _CONNECT_EXO + "#approve-email", ("MBX-002",),
        phrases=("requires an approval by", "requires approval by", "email addresses must be approved",
                 "email addresses haven't been approved", "is not approved and the mailbox has been disabled")),
    Entry(
        "profile-credentials-incorrect", "alert-text", "Email server profile credentials incorrect or insufficient",
        "Server-side sync could not use the credentials of the email server profile. For the cross-tenant OAuth "
        "profile the likely reasons are an expired or wrong secret, missing full_access_as_app consent, or an "
        "Exchange access policy that leaves the mailbox out (inferred; Microsoft's text speaks of user "
        "credentials and impersonation).",
        "Run xtcheck audit; create a new secret and paste it into the profile, grant admin consent in the Exchange "
        "tenant, then Test & Enable the mailboxes.",
        _SSS_MONITORING, ("APP-004", "EXO-002", "EXO-003", "PRF-002", "PRF-003", "PRF-004"),
        phrases=("credentials specified in the associated email server profile are incorrect",)),
    Entry(
        "mailbox-location-unknown", "alert-text", "Mailbox location could not be determined",
        "Auto discover could not find where the mailbox lives, and server-side sync disabled it. For Exchange "
        "Online that suggests the address has no mailbox in the Exchange tenant (inferred).",
        "Check that the address belongs to an Exchange Online mailbox in the Exchange tenant and that the profile "
        "is an Exchange Online profile with auto discover on; only on-premises profiles should carry a fixed EWS "
        "URL.",
        _SSS_MONITORING, ("MBX-005", "PRF-002"),
        phrases=("mailbox location could not be determined",)),
    Entry(
        "act-other-organization", "alert-text", "Mailbox syncs appointments, contacts and tasks with another org",
        "Exchange has another Dataverse environment recorded as this mailbox's primary organization for "
        "appointments, contacts and tasks.",
        "In the environment that should sync, select Test & Enable Mailbox with 'Sync items with Exchange from "
        "this org only' ticked, and set appointments, contacts and tasks to None in the other environment.",
        _SSS_MONITORING, ("MBX-003",),
        phrases=("is configured with another organization",)),
    Entry(
        "crmsecurity-failure", "alert-text", "A failure occurred in CrmSecurity (approving a mailbox)",
        "The person who selected Approve Email lacks one of the two roles it needs: Global or Exchange "
        "Administrator in Microsoft 365, and System Administrator in Dynamics 365. Its code, -2147220970 "
        "(0x80040216), is Dataverse's generic unexpected-error code, so the number alone proves nothing.",
        "Have a user holding both roles approve the mailbox, or switch off the approval requirement ('Process "
        "emails only for approved users/queues' under System Settings > Email).",
        _SSS_TROUBLESHOOT + "a-failure-occurred-crmsecurity", ("MBX-002",),
        phrases=("a failure occurred in crmsecurity", "should be a global administrator to approve mailbox"),
        aliases=("80040216",)),
)

_EWS_POLICY: tuple[Entry, ...] = (
    Entry(
        "x-ews-policy-disabled", "ews-policy", "EWS is disabled for this user or tenant",
        "Exchange Online answered 403 because EwsEnabled is False for the organization or the mailbox; since "
        "April 2025 a mailbox setting cannot override an organization-wide False. From 1 October 2026 tenants "
        "left unset are switched to False, and EWS stops for good on 1 April 2027.",
        "In the Exchange tenant run Set-OrganizationConfig -EwsEnabled $true with the app's client ID in "
        "EwsAllowedAppIDs (and Set-CASMailbox <address> -EwsEnabled $true if only the mailbox is off); allow up "
        "to 24 hours, and grant the Graph permissions sync moves to before April 2027.",
        _EWS_ACCESS, ("EWS-001", "GRA-001"),
        phrases=("ews is disabled for this user or tenant",)),
    Entry(
        "x-ews-policy-blocked", "ews-policy", "EWS is blocked by policy for this user or tenant",
        "EWS is on, but a policy filters out the caller: with EwsEnabled True only apps in EwsAllowedAppIDs may "
        "use EWS (an empty list blocks them all), or a user-agent allow or block list (EwsApplicationAccessPolicy) "
        "excludes it. Both checks must pass.",
        "Read the list (Get-OrganizationConfig -RetrieveEwsOperationAccessPolicy | fl EwsAllowedAppIDs), add the "
        "app's client ID and write the whole list back with Set-OrganizationConfig -EwsAllowedAppIDs; each write "
        "replaces the list, and changes take up to 24 hours.",
        _EWS_ACCESS, ("EWS-001",),
        phrases=("ews is blocked by policy for this user or tenant",)),
)

_GRAPH_ERRORS: tuple[Entry, ...] = (
    Entry(
        "graph-odata-disabled", "graph-error", "Access to OData is disabled (application access policy)",
        "Microsoft Graph answered ErrorAccessDenied because an Exchange application access policy in the "
        "Exchange tenant restricts the app to a group the mailbox is not in, or denies it outright. Graph cannot "
        "read these policies, so xtcheck cannot see them; changes take an hour or more to apply.",
        "In Exchange Online PowerShell run Test-ApplicationAccessPolicy -Identity <address> -AppId <client-id> "
        "and Get-ApplicationAccessPolicy, then add the mailbox to the policy's mail-enabled security group or "
        "change the policy.",
        _GRAPH_MAILBOX_SCOPE, ("GRA-001", "MBX-004"),
        phrases=("access to odata is disabled",)),
)

# Values xtcheck reads that Microsoft does not document: a check warns on them, never fails, and says how to confirm.
_UNDOCUMENTED: tuple[Entry, ...] = (
    Entry(
        "profile-settings-uncertain", "undocumented", "Profile settings Microsoft does not document",
        "Microsoft documents the email server profile's option values (servertype 0-4, credential retrieval 0-7) "
        "but not which ones the Power Platform admin center stores for an Exchange Online profile with "
        "Authentication Type 'Oauth (Cross Tenant)'. Profiles seen in use store servertype 0 or 3 and credential "
        "retrieval 7 (OAuth with Microsoft Entra ID); anything else may be a profile of another kind, or simply "
        "what a newer admin center writes.",
        "Open the profile in Power Platform admin center > Environments > the environment > Settings > Email > "
        "Server profiles and confirm that Email Server Type reads Exchange Online and Authentication Type reads "
        "Oauth (Cross Tenant); then Test & Enable one mailbox. If both read right and the test passes, the warning "
        "is about the stored value only.",
        "https://learn.microsoft.com/power-apps/developer/data-platform/reference/entities/emailserverprofile",
        ("PRF-002",), aliases=("servertype", "credential retrieval", "oauth (cross tenant)")),
)

ENTRIES: tuple[Entry, ...] = _AADSTS + _SYNC_CODES + _ALERT_TEXTS + _EWS_POLICY + _GRAPH_ERRORS + _UNDOCUMENTED
