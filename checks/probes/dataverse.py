"""Dataverse reads: email server profiles, the mailboxes in scope, organization settings."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from ..errors import XtcheckError
from ..model import Permission
from ..registry import probe
from ..settings import Settings, Thresholds

if TYPE_CHECKING:  # only a type here: evaluating a snapshot never loads the HTTP stack (msal, httpx)
    from ..http.apis import Apis

READ_PROFILES = Permission("Dataverse", "prvReadEmailServerProfile", "the Dynamics environment")
READ_MAILBOXES = Permission("Dataverse", "prvReadMailbox", "the Dynamics environment")
READ_ORGANIZATION = Permission("Dataverse", "prvReadOrganization", "the Dynamics environment")
READ_TRACELOGS = Permission("Dataverse", "prvReadTraceLog", "the Dynamics environment")
ALERT_COLUMNS = "text,level,tracecode,errordetails,errortypedisplay,createdon,modifiedon,_regardingobjectid_value"

PROFILE_COLUMNS = (
    "name,servertype,emailservertypename,serverauthority,exchangeonlinetenantid,usedefaulttenantid,oauthclientid,"
    "isoauthclientsecretset,aadresourceid,incomingcredentialretrieval,outgoingcredentialretrieval,"
    "incomingauthenticationprotocol,outgoingauthenticationprotocol,lasttestexecutionstatus,"
    "lasttestvalidationstatus,lastauthorizationstatus,lastteststarttime,lastcrmmessage,statecode,modifiedon"
)
MAILBOX_COLUMNS = (
    "name,emailaddress,_emailserverprofile_value,_regardingobjectid_value,regardingobjecttypecode,"
    "emailrouteraccessapproval,isemailaddressapprovedbyo365admin,incomingemaildeliverymethod,"
    "outgoingemaildeliverymethod,actdeliverymethod,incomingemailstatus,outgoingemailstatus,actstatus,mailboxstatus,"
    "enabledforincomingemail,enabledforoutgoingemail,enabledforact,testemailconfigurationscheduled,"
    "testmailboxaccesscompletedon,lastsuccessfulsynccompletedon,lastsyncerror,lastsyncerrorcode,lastsyncerroroccurredon,"
    "isforwardmailbox,statecode"
)
EXCHANGE_SERVER_TYPES = (0, 3)  # Exchange Server / Exchange Online (Hybrid); see domain notes: 0 is "uncertain"
_ADDRESSES_PER_QUERY = 20


@probe(permissions=(READ_PROFILES,))
def email_server_profiles(apis: Apis) -> list[dict[str, Any]]:
    return apis.dataverse().get_all("emailserverprofiles", {"$select": PROFILE_COLUMNS}).items


@probe()
def email_server_profile(settings: Settings, email_server_profiles: list[dict[str, Any]]) -> dict[str, Any]:
    """The profile to audit: the configured one (by id or name), or the one cross-tenant OAuth profile."""
    if settings.profile:
        wanted = settings.profile.strip().lower()
        hits = [p for p in email_server_profiles
                if wanted in (str(p.get("emailserverprofileid", "")).lower(), str(p.get("name", "")).lower())]
        return {"mode": "configured", "wanted": settings.profile, "match": hits[0] if len(hits) == 1 else None,
                "candidates": [_brief(p) for p in hits]}
    candidates = [p for p in email_server_profiles if is_cross_tenant_candidate(p, settings.dynamics_tenant)]
    return {"mode": "auto", "wanted": None, "match": candidates[0] if len(candidates) == 1 else None,
            "candidates": [_brief(p) for p in candidates]}


def is_cross_tenant_candidate(profile: dict[str, Any], dynamics_tenant: str) -> bool:
    """Active Exchange profile with an OAuth client id and a secret, pointing at a tenant other than A."""
    tenant = str(profile.get("exchangeonlinetenantid") or "").strip().lower()
    return (profile.get("statecode") == 0 and profile.get("servertype") in EXCHANGE_SERVER_TYPES
            and bool(str(profile.get("oauthclientid") or "").strip()) and profile.get("isoauthclientsecretset") is True
            and bool(tenant) and tenant != dynamics_tenant)


def _brief(profile: dict[str, Any]) -> dict[str, Any]:
    return {"id": profile.get("emailserverprofileid"), "name": profile.get("name")}


@probe(permissions=(READ_MAILBOXES,))
def mailboxes(apis: Apis, settings: Settings, email_server_profile: dict[str, Any]) -> dict[str, Any]:
    """The mailboxes in scope: every active, non-forward one on the profile, or the configured addresses."""
    match = email_server_profile.get("match")
    profile = _brief(match) if match else None
    api = apis.dataverse()
    params = {"$select": MAILBOX_COLUMNS, "$expand": "emailserverprofile($select=name)"}
    if settings.mailboxes == "all":
        if profile is None:
            return {"scope": "all", "profile": None, "rows": [], "pages": 0, "missing": []}
        query = f"_emailserverprofile_value eq {profile['id']} and statecode eq 0 and isforwardmailbox eq false"
        # Every row is on the selected profile (the filter says so): its name is not expanded into each of them.
        page = api.get_all("mailboxes", {"$select": MAILBOX_COLUMNS, "$filter": query})
        return {"scope": "all", "profile": profile, "rows": _lean(page.items), "pages": page.pages, "missing": []}
    rows: list[dict[str, Any]] = []
    pages = 0
    addresses = list(settings.mailboxes)
    for start in range(0, len(addresses), _ADDRESSES_PER_QUERY):
        chunk = addresses[start:start + _ADDRESSES_PER_QUERY]
        query = " or ".join(f"emailaddress eq '{a.replace(chr(39), chr(39) * 2)}'" for a in chunk)
        page = api.get_all("mailboxes", {**params, "$filter": query})
        rows.extend(page.items)
        pages += page.pages
    found = {str(r.get("emailaddress", "")).lower() for r in rows}
    missing = [a for a in addresses if a.lower() not in found]
    return {"scope": addresses, "profile": profile, "rows": _lean(rows), "pages": pages, "missing": missing}


_SHARED = ("_emailserverprofile_value", "regardingobjecttypecode")  # what nearly every row repeats


def _lean(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Mailbox rows as the checks read them, each value held once: without the row version Dataverse annotates each
    row with (@odata.etag), and with the profile id and owner type most rows repeat shared, not copied. For 100,000
    mailboxes that is 15 MB less; the expanded profile the filter makes redundant was another 40 MB."""
    shared: dict[str, str] = {}
    for row in rows:
        row.pop("@odata.etag", None)
        for column in _SHARED:
            value = row.get(column)
            if type(value) is str:
                row[column] = shared.setdefault(value, value)
    return rows


@probe()
def mailbox_subjects(mailboxes: dict[str, Any]) -> list[str]:
    """Each mailbox row's subject in findings, in the rows' order: its address, or with its name beside it when two
    mailboxes share the address. Read from `mailboxes` once for the five mailbox checks (nothing is requested)."""
    rows = mailboxes.get("rows") or []
    addresses = [_address(row) for row in rows]
    seen = Counter(address.lower() for address in addresses)
    return [address if seen[address.lower()] == 1 else f"{address} ({row.get('name')})"
            for address, row in zip(addresses, rows, strict=True)]


def _address(row: dict[str, Any]) -> str:
    address = row.get("emailaddress")
    return address if type(address) is str and address else \
        str(address or f"mailbox {row.get('name') or row.get('mailboxid')}")


@probe(permissions=(READ_ORGANIZATION,))
def organization_settings(apis: Apis) -> dict[str, Any]:
    rows = apis.dataverse().get_all(
        "organizations", {"$select": "name,requireapprovalforuseremail,requireapprovalforqueueemail"}).items
    return rows[0] if rows else {}


@probe(permissions=(READ_TRACELOGS,))
def alerts(apis: Apis, thresholds: Thresholds, now: datetime) -> dict[str, Any]:
    """Every warning and error alert of the environment within the lookback: one paged query, never one per mailbox."""
    since = (now - timedelta(days=thresholds.alert_lookback_days)).strftime("%Y-%m-%dT%H:%M:%SZ")
    page = apis.dataverse().get_all("tracelogs", {
        "$select": ALERT_COLUMNS, "$filter": f"level ge 2 and modifiedon ge {since}", "$orderby": "modifiedon desc"})
    return {"since": since, "rows": page.items, "pages": page.pages}


@probe(lazy=("email_server_profile",))
def profile_modified(email_server_profile: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """When the selected profile was last saved, for the stale-secret forecast; a failed read is data here."""
    try:
        match = email_server_profile().get("match") or {}
    except XtcheckError as exc:
        return {"error": str(exc)}
    return {"name": match.get("name"), "modifiedon": match.get("modifiedon")}
