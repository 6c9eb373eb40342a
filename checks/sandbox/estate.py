"""An estate: tenant A (Fabrikam) with N Power Platform environments syncing with two tenants B (Contoso, ref B, and
Northwind, ref B2), generated deterministically so a test can name what each environment should produce.

What each environment is follows from its index alone (`kind_of`). The first fourteen are always these, so any
estate of at least fourteen has each of them once:

==  ========================  ========================================================================  ==========
 i  kind                      what is set up                                                             expected
==  ========================  ========================================================================  ==========
 0  healthy                   cross-tenant profile to B through the shared app sync-b                    all pass
 1  unreadable                no application user for the reader: Dataverse answers 403                  Unreadable
 2  no-dataverse              listed by the admin API without linkedEnvironmentMetadata, not served      no target
 3  no-cross-tenant-profile   only the same-tenant profile (no OAuth client id)                          no target
 4  two-profiles              one profile to B (sync-b), one to B2 (sync-b2): two targets                all pass
 5  secret-12d                its app's only valid secret expires in 12 days                             APP-004 warn
 6  secret-25d                ... in 25 days (inside the 30-day warning)                                 APP-004 warn
 7  secret-60d                ... in 60 days (outside it)                                                all pass
 8  secret-expired            every secret of its app has expired                                        APP-004 fail
 9  consent-missing           full_access_as_app requested, not admin-consented in B                     EXO-002 fail
10  profile-wrong-tenant      the profile's Exchange Online tenant id is a typo of B's                   EXO-004 fail
11  mailbox-failed            its second mailbox failed Test & Enable (401, 8005E272) and was disabled  MBX-003/004 fail
12  graph-not-ready           its app lacks three of the Graph roles server-side sync needs              GRA-001 fail
13  ews-not-ready             its app is not on B's EwsAllowedAppIDs                                     EWS-001 fail
==  ========================  ========================================================================  ==========

"expected" is what an estate audit reports besides pass (and besides EXO-003, skipped: the config holds no sync
app secret). A discovered target's tenant B is its profile's, so profile-wrong-tenant's target names a tenant that
does not exist: EXO-004 fails and the checks that need tenant B skip. secret-expired also warns (APP-004) that the
profile still holds the expired secret; graph-not-ready also warns on EWS-001.

After those, every 25th environment (i % 25 == 0) is broken again, cycling through kinds 1..13 in order
(`BROKEN[(i // 25) % 13]`), every other i % 10 == 7 is a healthy one syncing with B2 (healthy-b2), and the rest are
healthy with B. A broken kind reuses one app per kind (sync-exp12, sync-noconsent...), and every healthy profile of
one tenant B uses that tenant's one shared app (sync-b, sync-b2), so an estate audit reads each app once.

Each cross-tenant profile has `mailboxes` mailboxes, user{n:05d}@contoso.com (or @northwind.com), numbered across
the estate; the tenants B hold that many generated users. The reader `auditor` (home A) has Application.Read.All in
A, the read roles and Exchange.ManageAsApp in both tenants B, an application user in every readable environment,
and is a registered Power Platform management application (`reader_registered=False`: it is not, and the admin
API answers 403)."""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any

from .directory import derived_id
from .options import SMALLEST_ESTATE
from .scenario import load_raw, resolve_times

FIXED = ("healthy", "unreadable", "no-dataverse", "no-cross-tenant-profile", "two-profiles", "secret-12d",
         "secret-25d", "secret-60d", "secret-expired", "consent-missing", "profile-wrong-tenant", "mailbox-failed",
         "graph-not-ready", "ews-not-ready")
BROKEN = FIXED[1:]
# What an audit of the estate should report for each kind's target(s): (finding id, verdict) other than pass.
EXPECTED: dict[str, dict[str, str]] = {
    "healthy": {}, "healthy-b2": {}, "two-profiles": {}, "secret-60d": {},
    "secret-12d": {"APP-004": "warn"}, "secret-25d": {"APP-004": "warn"}, "secret-expired": {"APP-004": "fail"},
    "consent-missing": {"EXO-002": "fail"}, "profile-wrong-tenant": {"EXO-004": "fail"},
    "mailbox-failed": {"MBX-003": "fail", "MBX-004": "fail"}, "graph-not-ready": {"GRA-001": "fail"},
    "ews-not-ready": {"EWS-001": "fail"},
}
NO_TARGET = frozenset({"unreadable", "no-dataverse", "no-cross-tenant-profile"})

TENANT_A = "7d3f2a10-5c1e-4b8a-9f2d-0a1b2c3d4e5f"
TENANT_B = "c4a1e9b2-8f3d-4e6a-b7c5-1d2e3f4a5b6c"
TENANT_B2 = "5b6c7d8e-9f0a-4b1c-8d2e-3f4a5b6c7d8e"
WRONG_TENANT = "c4a1e9b2-8f3d-4e6a-b7c5-1d2e3f4a5c6b"  # B's id with two characters swapped
READER_APP_ID = "4d5e6f70-8192-4a3b-bc4d-5e6f708192a3"
_DOMAINS = {"B": "contoso.com", "B2": "northwind.com"}
_NAMES = {"B": "Contoso", "B2": "Northwind"}
# The app each kind's profile uses (healthy ones share their tenant's app): ref -> (tenant, secret end, missing roles).
_APPS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "sync-b": ("B", "+300d", ()), "sync-b2": ("B2", "+300d", ()),
    "sync-exp12": ("B", "+12d", ()), "sync-exp25": ("B", "+25d", ()), "sync-exp60": ("B", "+60d", ()),
    "sync-expired": ("B", "-2d", ()), "sync-noconsent": ("B", "+300d", ("full_access_as_app",)),
    "sync-nograph": ("B", "+300d", ("Tasks.ReadWrite.All", "MailboxConfigItem.ReadWrite", "User.Read.All")),
    "sync-noews": ("B", "+300d", ()),
}
_APP_OF_KIND = {"secret-12d": "sync-exp12", "secret-25d": "sync-exp25", "secret-60d": "sync-exp60",
                "secret-expired": "sync-expired", "consent-missing": "sync-noconsent",
                "graph-not-ready": "sync-nograph", "ews-not-ready": "sync-noews", "healthy-b2": "sync-b2"}
_PRIVILEGES = ["prvReadMailbox", "prvReadEmailServerProfile", "prvReadTraceLog", "prvReadOrganization",
               "prvReadUser", "prvReadQueue"]
_READS = ["Application.Read.All", "Domain.Read.All", "Policy.Read.All", "User.Read.All",
          "exchange:Exchange.ManageAsApp"]


def kind_of(index: int) -> str:
    """What environment `index` (from 0) of any estate is: one of FIXED, "healthy" or "healthy-b2"."""
    if index < len(FIXED):
        return FIXED[index]
    if index % 25 == 0:
        return BROKEN[(index // 25) % len(BROKEN)]
    return "healthy-b2" if index % 10 == 7 else "healthy"


def environment_ref(index: int) -> str:
    return f"env-{index:05d}"


def app_id(ref: str) -> str:
    """The client id of one of the estate's sync apps (sync-b, sync-exp12...)."""
    return "9b8c7d6e-5f4a-4b3c-8d2e-1f0a9b8c7d6e" if ref == "sync-b" else derived_id("estate-app", ref)


def estate_scenario(n: int, *, mailboxes: int = 3, now: dt.datetime | None = None,
                    reader_registered: bool = True) -> dict[str, Any]:
    """A scenario of `n` environments (at least len(FIXED)); relative times ("-30d") unless `now` resolves them."""
    if n < SMALLEST_ESTATE:
        raise ValueError(f"an estate has at least {len(FIXED)} environments (one of each kind); got {n}")
    if mailboxes < 1:
        raise ValueError("each cross-tenant profile needs at least one mailbox")
    template = load_raw("healthy")
    counter = {"B": 0, "B2": 0}
    environments = [_environment(i, kind_of(i), mailboxes, counter) for i in range(n)]
    scenario: dict[str, Any] = {
        "name": f"estate-{n}",
        "summary": f"Tenant A with {n} environments syncing with two tenants B; mostly healthy, some broken by index.",
        "description": __doc__,
        "audit": {"exchangeTenant": "B", "mailboxes": "all", "orgConfig": "admin-api"},
        "tenants": _tenants(template, counter),
        "applications": [_application(template, ref) for ref in _APPS],
        "servicePrincipals": [_service_principal(ref) for ref in _APPS],
        "appRoleAssignments": [a for ref in _APPS for a in _assignments(template, ref)],
        "readers": [_reader(reader_registered)],
        "environments": environments,
    }
    if now is None:
        return scenario
    resolved: dict[str, Any] = resolve_times(scenario, now)
    return resolved


# -- directory -----------------------------------------------------------------------------------------------------


def _tenants(template: dict[str, Any], counter: dict[str, int]) -> list[dict[str, Any]]:
    a, b = (copy.deepcopy(t) for t in template["tenants"][:2])
    b.pop("users", None)
    b["generatedUsers"] = counter["B"]
    b["exchangeOrganization"] = {"EwsEnabled": True, "EwsAllowedAppIDs": sorted(
        app_id(ref) for ref, (tenant, _, _) in _APPS.items() if tenant == "B" and ref != "sync-noews")}
    b2 = {"ref": "B2", "id": TENANT_B2, "displayName": "Northwind Traders", "region": "EU",
          "domains": [{"id": "northwind.onmicrosoft.com", "isInitial": True, "isDefault": False, "isVerified": True},
                      {"id": "northwind.com", "isDefault": True, "isVerified": True}],
          "exchangeOrganization": {"EwsEnabled": True, "EwsAllowedAppIDs": [app_id("sync-b2")]},
          "generatedUsers": counter["B2"]}
    return [a, b, b2]


def _application(template: dict[str, Any], ref: str) -> dict[str, Any]:
    tenant, ends, _ = _APPS[ref]
    app: dict[str, Any] = copy.deepcopy(template["applications"][0])
    starts = "-60d" if ends == "+300d" else "-353d"
    app.update({"ref": ref, "tenant": tenant, "id": derived_id("estate-app-object", ref), "appId": app_id(ref),
                "displayName": f"Dynamics 365 cross-tenant sync ({ref})",
                "publisherDomain": f"{_NAMES[tenant].lower()}.onmicrosoft.com",
                "passwordCredentials": [{"keyId": derived_id("estate-secret", ref), "displayName": "sss",
                                         "secret": f"Zr5~Kp2.{ref}-secret-value", "startDateTime": starts,
                                         "endDateTime": ends}]})
    return app


def _service_principal(ref: str) -> dict[str, Any]:
    return {"ref": f"{ref}-sp", "tenant": _APPS[ref][0], "id": derived_id("estate-sp", ref), "appId": app_id(ref),
            "accountEnabled": True, "servicePrincipalType": "Application"}


def _assignments(template: dict[str, Any], ref: str) -> list[dict[str, Any]]:
    tenant, _, missing = _APPS[ref]
    return [{**a, "tenant": tenant, "principal": f"{ref}-sp"} for a in template["appRoleAssignments"]
            if a["appRole"] not in missing]


def _reader(registered: bool) -> dict[str, Any]:
    return {"ref": "auditor", "home": "A", "appId": READER_APP_ID, "displayName": "xtcheck auditor",
            "secret": "sandbox-reader-secret-8f3k2q", "powerPlatformManagement": registered,
            "grants": {"A": ["Application.Read.All"], "B": list(_READS), "B2": list(_READS)}}


# -- environments --------------------------------------------------------------------------------------------------


def _environment(index: int, kind: str, mailboxes: int, counter: dict[str, int]) -> dict[str, Any]:
    ref = environment_ref(index)
    raw: dict[str, Any] = {"ref": ref, "tenant": "A", "displayName": f"Fabrikam {index:05d} ({kind})",
                           "sku": "Sandbox" if index % 4 == 3 else "Production"}
    if kind == "no-dataverse":
        raw["dataverse"] = False
        return raw
    local = derived_id("estate-profile", ref, "local")
    raw["organization"] = {"organizationid": derived_id("dataverse-organization", ref), "name": ref,
                           "_defaultemailserverprofileid_value": local, "requireapprovalforuseremail": True,
                           "requireapprovalforqueueemail": True, "createdon": "-900d", "modifiedon": "-40d"}
    if kind != "unreadable":
        raw["applicationUsers"] = [{"reader": "auditor", "privileges": list(_PRIVILEGES)}]
    raw["emailserverprofiles"] = [_local_profile(local)]
    raw["mailboxes"] = []
    for tenant in _profile_tenants(kind):
        profile = _cross_tenant_profile(ref, tenant, kind)
        raw["emailserverprofiles"].append(profile)
        rows = [_mailbox(ref, profile["emailserverprofileid"], tenant, counter) for _ in range(mailboxes)]
        raw["mailboxes"] += rows
    if kind == "mailbox-failed":
        raw["tracelogs"] = [_fail(raw["mailboxes"][min(1, mailboxes - 1)], raw["emailserverprofiles"][1])]
    return raw


def _fail(mailbox: dict[str, Any], profile: dict[str, Any]) -> dict[str, Any]:
    """Mark `mailbox` as failed Test & Enable; the alert Dataverse wrote about it."""
    mailbox.update(_FAILED_MAILBOX)
    return {"tracelogid": derived_id("estate-tracelog", mailbox["mailboxid"]), "level": 3, "tracecode": -2147097998,
            "text": f"The mailbox {mailbox['name']} ({mailbox['emailaddress']}) failed Test & Enable and has been "
                    "disabled for incoming and outgoing email and for synchronizing appointments, contacts, and "
                    "tasks. Exchange refused access to the mailbox with the credentials of the email server profile "
                    f"{profile['name']}. Error code: 8005E272. Email Server Error Code: Http server returned 401 "
                    "Unauthorized exception.",
            "_regardingobjectid_value": mailbox["mailboxid"], "regardingobjecttypecode": "mailbox",
            "createdon": "-2h", "modifiedon": "-2h", "errordetails": "Http server returned 401 Unauthorized exception."}


def _profile_tenants(kind: str) -> tuple[str, ...]:
    if kind == "no-cross-tenant-profile":
        return ()
    if kind == "two-profiles":
        return ("B", "B2")
    return ("B2",) if kind == "healthy-b2" else ("B",)


def _local_profile(profile_id: str) -> dict[str, Any]:
    return {"emailserverprofileid": profile_id, "name": "Microsoft Exchange Online", "servertype": 0,
            "emailservertypename": "Exchange Online", "incomingcredentialretrieval": 2,
            "outgoingcredentialretrieval": 2, "exchangeonlinetenantid": TENANT_A, "usedefaulttenantid": True,
            "lasttestexecutionstatus": 1, "lasttestvalidationstatus": 1, "lastauthorizationstatus": 1,
            "lastteststarttime": "-900d", "createdon": "-900d", "modifiedon": "-900d"}


def _cross_tenant_profile(ref: str, tenant: str, kind: str) -> dict[str, Any]:
    app = _APP_OF_KIND.get(kind, "sync-b2" if tenant == "B2" else "sync-b")
    tenant_id = {"B": TENANT_B, "B2": TENANT_B2}[tenant]
    return {"emailserverprofileid": derived_id("estate-profile", ref, tenant),
            "name": f"Exchange Online cross-tenant ({_NAMES[tenant]})", "servertype": 0,
            "emailservertypename": "Exchange Online", "serverauthority": 0, "incomingcredentialretrieval": 7,
            "outgoingcredentialretrieval": 7,
            "exchangeonlinetenantid": WRONG_TENANT if kind == "profile-wrong-tenant" else tenant_id,
            "usedefaulttenantid": False, "oauthclientid": app_id(app), "isoauthclientsecretset": True,
            "aadresourceid": "https://outlook.office365.com", "lasttestexecutionstatus": 1,
            "lasttestvalidationstatus": 1, "lastauthorizationstatus": 1, "lastteststarttime": "-30d",
            "lastcrmmessage": "Test and enable completed successfully.", "createdon": "-419d", "modifiedon": "-59d"}


def _mailbox(ref: str, profile_id: str, tenant: str, counter: dict[str, int]) -> dict[str, Any]:
    counter[tenant] += 1
    number = counter[tenant]
    return {"mailboxid": derived_id("estate-mailbox", ref, tenant, str(number)), "name": f"User {number:05d}",
            "emailaddress": f"user{number:05d}@{_DOMAINS[tenant]}", "_emailserverprofile_value": profile_id,
            "_regardingobjectid_value": derived_id("estate-user", ref, tenant, str(number)),
            "regardingobjecttypecode": "systemuser", "testmailboxaccesscompletedon": "-30d",
            "emailaddressapprovedon": "-31d", "lastsuccessfulsynccompletedon": "-12m", "lastsyncstartedon": "-13m",
            "createdon": "-200d", "modifiedon": "-30d"}


_FAILED_MAILBOX: dict[str, Any] = {
    "incomingemailstatus": 2, "outgoingemailstatus": 2, "actstatus": 2, "mailboxstatus": 2,
    "enabledforincomingemail": False, "enabledforoutgoingemail": False, "enabledforact": False,
    "testmailboxaccesscompletedon": "-2h", "testandenablelastattemptedon": "-2h",
    "lastsyncerrorcode": -2147097998, "lastsyncerrorcount": 1, "lastsyncerroroccurredon": "-2h",
    "lastsyncerror": "Microsoft.Crm.Asynchronous.EmailConnector.ExchangeServiceException: Http server returned 401 "
                     "Unauthorized exception. (8005E272)",
    "modifiedon": "-2h",
}
