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

- `tenant_domains`: {"source": "domains" | "organization", "verified": [tenant B's verified domain names, lower case],
  "default": its default domain or None, "display_name": the tenant's name (only when read from /organization)}.

Discovery, token, Exchange (probes/discovery.py, token.py, exchange.py):
- `exchange_tenant_discovery`: OIDC discovery of the configured tenant B, no credentials: {"query", "found": bool,
  "tenant_id", "issuer", "region" (tenant_region_scope), "sub_scope", "cloud_instance" (e.g. microsoftonline.us),
  "expected_instance" (what the configured cloud's own tenants report; None for custom), "cloud", "login",
  "error" (the AADSTS text when not found)}.
- `live_token` (opt-in): {"configured": False} without app.secret; else {"configured": True, "resource",
  "acquired": True, "claims": {aud, tid, appid, azp, oid, roles, idtyp, ...}} or {"configured": True,
  "acquired": False, "code": AADSTS number or None, "error": message}.
- `org_config`: {"source": "export" | "admin-api" | None, "config": {EwsEnabled, EwsAllowedAppIDs (lower-case ids
  or None), EwsApplicationAccessPolicy, EwsAllowList, EwsBlockList} or None, "reason": why nothing was read}.

Dataverse (probes/dataverse.py):
- `email_server_profiles`: list of every email server profile (the columns checks need).
- `email_server_profile`: {"mode": "configured" | "auto", "wanted": str | None, "match": the profile row or None,
  "candidates": [{"id", "name"}] (auto: the cross-tenant OAuth profiles found; configured: profiles with that name)}.
- `mailboxes`: {"scope": "all" | [addresses], "profile": {"id", "name"} | None, "rows": [mailbox rows],
  "pages": int, "missing": [addresses in the configured list that match no mailbox]}. Rows carry no @odata.etag;
  with a list of addresses each row also carries `emailserverprofile: {"name"}` (its own profile, expanded); with
  "all" it does not (every row kept is on `profile`). A profile named in the config is queried before the profiles
  are read (by id, or by name through `emailserverprofile/name`); rows on any other profile are dropped, and the
  query is repeated by the selected profile's id when the first one could have missed rows.
- `organization_settings`: the organization row (requireapprovalforuseremail, requireapprovalforqueueemail, ...).
- `alerts`: {"since": ISO time, "rows": [tracelog rows: text, level (2 warning, 3 error), tracecode, errordetails,
  errortypedisplay, createdon, modifiedon, _regardingobjectid_value (a mailbox id or a profile id)], "pages"}:
  every warning/error alert of the environment within alert_lookback_days, one paged query.
- `profile_modified`: {"name", "modifiedon"} of the selected profile, or {"error": why it could not be read}.
"""
