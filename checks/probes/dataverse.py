"""Dataverse reads: email server profiles, the mailboxes in scope, organization settings."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from ..errors import XtcheckError
from ..model import Permission
from ..registry import probe
from ..settings import Settings, Thresholds
from .rows import compact

if TYPE_CHECKING:  # only types here: evaluating a snapshot never loads the HTTP stack (msal, httpx)
    from ..http.api import Api
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
_GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


@probe("the environment's email server profiles", permissions=(READ_PROFILES,), shared=("settings.environment_url",))
def email_server_profiles(apis: Apis) -> list[dict[str, Any]]:
    return apis.dataverse().get_all("emailserverprofiles", {"$select": PROFILE_COLUMNS}).items


@probe("the email server profile to audit")
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


@probe("the mailboxes in scope", permissions=(READ_MAILBOXES, READ_PROFILES), lazy=("email_server_profile",))
def mailboxes(apis: Apis, settings: Settings, email_server_profile: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """The mailboxes in scope: every active, non-forward one on the profile, or the configured addresses.

    When the config names the profile (by id, or by a plain ASCII name through the lookup's navigation property),
    the query starts at once instead of after the profiles are read: one round trip less on the audit's longest
    chain. Its rows are then kept only if they are on the profile the audit selected, and the query is made again
    by that profile's id whenever the first one may have missed some: never fewer rows than a query by id."""
    api = apis.dataverse()
    if settings.mailboxes != "all":
        addresses = list(settings.mailboxes)
        rows, pages, missing = _listed(api, addresses)  # on whatever profile: the profile is not waited for
        return {"scope": addresses, "profile": _selected(email_server_profile()), "rows": rows, "pages": pages,
                "missing": missing}
    early = _early_filter(settings.profile)
    page = _read(api, _in_scope(early)) if early is not None else None
    match = email_server_profile().get("match")
    if not match:
        return {"scope": "all", "profile": None, "rows": [], "pages": 0, "missing": []}
    profile = _brief(match)
    if page is None or not _complete(settings.profile, match):
        page = _read(api, _in_scope(f"_emailserverprofile_value eq {profile['id']}"))
    wanted = str(profile["id"]).lower()
    rows = [row for row in page[0] if str(row.get("_emailserverprofile_value") or "").lower() == wanted]
    return {"scope": "all", "profile": profile, "rows": rows, "pages": page[1], "missing": []}


def _read(api: Api, params: dict[str, str]) -> tuple[list[dict[str, Any]], int]:
    """Every page of a mailbox query, each page's rows made lean and compact as it arrives: (rows, pages)."""
    rows: list[dict[str, Any]] = []
    pages = 0
    shared: dict[str, str] = {}
    for page in api.pages("mailboxes", params):
        rows.extend(compact(_lean(page, shared)))
        pages += 1
    return rows, pages


def _selected(selection: dict[str, Any]) -> dict[str, Any] | None:
    match = selection.get("match")
    return _brief(match) if match else None


def _in_scope(profile_filter: str) -> dict[str, str]:
    # Every row is on the selected profile (the probe keeps no other): its name is not expanded into each of them.
    return {"$select": MAILBOX_COLUMNS, "$filter": f"{profile_filter} and statecode eq 0 and isforwardmailbox eq false"}


def _early_filter(configured: str | None) -> str | None:
    """The profile filter the mailbox query can start with before the profiles are read, or None (wait for them).

    A plain ASCII name is compared by Dataverse in SQL: case-insensitively, trailing blanks ignored, under the
    environment's collation. That is never narrower than our own case-folded match when the configured spelling
    is the stored name itself (`_complete` checks that); other names, and non-ASCII ones, wait for the profile."""
    wanted = (configured or "").strip()
    if not wanted:
        return None
    if _GUID.fullmatch(wanted):
        return f"_emailserverprofile_value eq {wanted.lower()}"
    if wanted.isascii() and wanted.isprintable():
        return f"emailserverprofile/name eq '{wanted.replace(chr(39), chr(39) * 2)}'"
    return None


def _complete(configured: str | None, match: dict[str, Any]) -> bool:
    """True when the early query returned every mailbox of the selected profile `match`: queried by its very id, or
    by a name that is its stored name exactly. Any string equals itself under every collation; a spelling that
    differs in case may not (Turkish_CI_AI does not equate i and I), so that one is queried again by id."""
    wanted = (configured or "").strip()
    if _GUID.fullmatch(wanted):
        return wanted.lower() == str(match.get("emailserverprofileid") or "").lower()
    return match.get("name") == wanted


def _listed(api: Api, addresses: list[str]) -> tuple[list[dict[str, Any]], int, list[str]]:
    """The configured addresses' mailboxes (each row with its own profile's name expanded), the pages read, and the
    addresses no mailbox has."""
    rows: list[dict[str, Any]] = []
    pages = 0
    params = {"$select": MAILBOX_COLUMNS, "$expand": "emailserverprofile($select=name)"}
    for start in range(0, len(addresses), _ADDRESSES_PER_QUERY):
        chunk = addresses[start:start + _ADDRESSES_PER_QUERY]
        query = " or ".join(f"emailaddress eq '{a.replace(chr(39), chr(39) * 2)}'" for a in chunk)
        chunk_rows, chunk_pages = _read(api, {**params, "$filter": query})
        rows.extend(chunk_rows)
        pages += chunk_pages
    found = {str(r.get("emailaddress", "")).lower() for r in rows}
    return rows, pages, [a for a in addresses if a.lower() not in found]


_SHARED = ("_emailserverprofile_value", "regardingobjecttypecode")  # what nearly every row repeats


def _lean(rows: list[dict[str, Any]], shared: dict[str, str]) -> list[dict[str, Any]]:
    """Mailbox rows as the checks read them, each value held once: without the row version Dataverse annotates each
    row with (@odata.etag), and with the profile id and owner type most rows repeat shared, not copied. For 100,000
    mailboxes that is 15 MB less; the expanded profile the filter makes redundant was another 40 MB. `shared` holds
    the values seen so far (one query's pages share it)."""
    for row in rows:
        row.pop("@odata.etag", None)
        for column in _SHARED:
            value = row.get(column)
            if type(value) is str:
                row[column] = shared.setdefault(value, value)
    return rows


@probe("the mailboxes' addresses")
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


@probe("the environment's organization settings", permissions=(READ_ORGANIZATION,),
       shared=("settings.environment_url",))
def organization_settings(apis: Apis) -> dict[str, Any]:
    rows = apis.dataverse().get_all(
        "organizations", {"$select": "name,requireapprovalforuseremail,requireapprovalforqueueemail"}).items
    return rows[0] if rows else {}


@probe("the environment's server-side sync alerts", permissions=(READ_TRACELOGS,),
       shared=("settings.environment_url",))  # (the lookback and the run's clock are the estate's, the same for all)
def alerts(apis: Apis, thresholds: Thresholds, now: datetime) -> dict[str, Any]:
    """Every warning and error alert of the environment within the lookback: one paged query, never one per mailbox."""
    since = (now - timedelta(days=thresholds.alert_lookback_days)).strftime("%Y-%m-%dT%H:%M:%SZ")
    page = apis.dataverse().get_all("tracelogs", {
        "$select": ALERT_COLUMNS, "$filter": f"level ge 2 and modifiedon ge {since}", "$orderby": "modifiedon desc"})
    return {"since": since, "rows": page.items, "pages": page.pages}


@probe("when the email server profile was last saved", lazy=("email_server_profile",))
def profile_modified(email_server_profile: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """When the selected profile was last saved, for the stale-secret forecast; a failed read is data here."""
    try:
        match = email_server_profile().get("match") or {}
    except XtcheckError as exc:
        return {"error": str(exc)}
    return {"name": match.get("name"), "modifiedon": match.get("modifiedon")}
