"""Microsoft's pages the checks rest on: each check cites them as its references, and every fix links them."""

from __future__ import annotations

LEARN_CROSS_TENANT = "https://learn.microsoft.com/power-platform/admin/connect-exchange-online-server-profile-oauth"
LEARN_EXCHANGE_ONLINE = "https://learn.microsoft.com/power-platform/admin/connect-exchange-online"
GRAPH_APPLICATION = "https://learn.microsoft.com/graph/api/resources/application"
GRAPH_CREDENTIAL_DOC = "https://learn.microsoft.com/graph/api/resources/passwordcredential"
GRAPH_SERVICE_PRINCIPAL = "https://learn.microsoft.com/graph/api/resources/serviceprincipal"
GRAPH_APP_ROLE_ASSIGNMENTS = "https://learn.microsoft.com/graph/api/serviceprincipal-list-approleassignments"
GRAPH_APP_ROLE_ASSIGNMENT = "https://learn.microsoft.com/graph/api/resources/approleassignment"
ADMIN_CONSENT = "https://learn.microsoft.com/entra/identity/enterprise-apps/grant-admin-consent"
GRAPH_REQUIRED_ACCESS = "https://learn.microsoft.com/graph/api/resources/requiredresourceaccess"
CA_WORKLOAD_IDENTITIES = "https://learn.microsoft.com/entra/identity/conditional-access/workload-identity"
LIMIT_MAILBOX_ACCESS = "https://learn.microsoft.com/graph/auth-limit-mailbox-access"
CA_POLICIES_API = "https://learn.microsoft.com/graph/api/conditionalaccessroot-list-policies"
CA_CLIENT_APPLICATIONS = "https://learn.microsoft.com/graph/api/resources/conditionalaccessclientapplications"
ERROR_8005E273 = ("https://learn.microsoft.com/troubleshoot/power-platform/dataverse/email-exchange-synchronization/"
                  "error-code-8005e273")
ERROR_8005E274 = ("https://learn.microsoft.com/troubleshoot/power-platform/dataverse/email-exchange-synchronization/"
                  "error-code-8005e274")
SHARED_MAILBOXES = "https://learn.microsoft.com/microsoft-365/admin/email/about-shared-mailboxes"
GRAPH_USER = "https://learn.microsoft.com/graph/api/resources/user"
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
EWS_USAGE_REPORT = "https://learn.microsoft.com/microsoft-365/admin/activity-reports/ews-usage"
FORBIDDEN_ARTICLE = ("https://learn.microsoft.com/troubleshoot/power-platform/dataverse/email-exchange-synchronization/"
                     "http-server-returned-forbidden-exception")
SET_ORG_CONFIG = "https://learn.microsoft.com/powershell/module/exchangepowershell/set-organizationconfig"
SSS_MONITORING = ("https://learn.microsoft.com/troubleshoot/power-platform/dataverse/email-exchange-synchronization/"
                  "troubleshooting-monitoring-server-side-synchronization")
TRACELOG_TABLE = "https://learn.microsoft.com/power-apps/developer/data-platform/reference/entities/tracelog"
