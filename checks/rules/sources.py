"""Microsoft's pages the checks rest on: each check cites them as its references, and every fix links them."""

from __future__ import annotations

LEARN_CROSS_TENANT = "https://learn.microsoft.com/power-platform/admin/connect-exchange-online-server-profile-oauth"
LEARN_EXCHANGE_ONLINE = "https://learn.microsoft.com/power-platform/admin/connect-exchange-online"
GRAPH_APPLICATION = "https://learn.microsoft.com/graph/api/resources/application"
GRAPH_CREDENTIAL_DOC = "https://learn.microsoft.com/graph/api/resources/passwordcredential"
GRAPH_SERVICE_PRINCIPAL = "https://learn.microsoft.com/graph/api/resources/serviceprincipal"
GRAPH_APP_ROLE_ASSIGNMENTS = "https://learn.microsoft.com/graph/api/serviceprincipal-list-approleassignments"
GRAPH_REQUIRED_ACCESS = "https://learn.microsoft.com/graph/api/resources/requiredresourceaccess"
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
