"""Probes: read-only reads, one module per service. Each probe is a function registered by name; checks ask for
its result by naming it as a parameter. The evidence every probe returns (JSON-compatible, secrets never):

Seeds (given by the run, not read): `settings` (Settings), `thresholds` (Thresholds), `now` (aware UTC datetime),
`apis` (Apis: Graph per tenant, the Dataverse environment), `evidence` (lazy access to other evidence).

Microsoft Graph (probes/entra.py):
- `exchange_tenant_id`: str, tenant B's GUID (a configured domain resolved through OIDC discovery).
- `client_id`: str, the sync app's client id (configured, or the selected profile's `oauthclientid`).
- `client_service_principal`: the app's servicePrincipal in tenant B (id, appId, displayName, accountEnabled,
  appOwnerOrganizationId, servicePrincipalType, signInAudience), or None when there is none.
- `exchange_resource_sp`, `graph_resource_sp`: Office 365 Exchange Online's / Microsoft Graph's servicePrincipal in
  tenant B (id, appId, displayName, appRoles), or None when the tenant has none.
- `app_role_assignments`: list of the client service principal's appRoleAssignments in tenant B (every page read;
  empty when there is no service principal).
- `application`: {"home_tenant": str | None, "searched": [tenant ids], "object": the application (id, appId,
  displayName, signInAudience, passwordCredentials, keyCredentials, requiredResourceAccess, createdDateTime,
  publisherDomain) or None when no searched tenant has it}.

Dataverse (probes/dataverse.py):
- `email_server_profiles`: list of every email server profile (the columns checks need).
- `email_server_profile`: {"mode": "configured" | "auto", "wanted": str | None, "match": the profile row or None,
  "candidates": [{"id", "name"}] (auto: the cross-tenant OAuth profiles found; configured: profiles with that name)}.
- `mailboxes`: {"scope": "all" | [addresses], "profile": {"id", "name"} | None, "rows": [mailbox rows],
  "pages": int, "missing": [addresses in the configured list that match no mailbox]}.
- `organization_settings`: the organization row (requireapprovalforuseremail, requireapprovalforqueueemail, ...).
"""
