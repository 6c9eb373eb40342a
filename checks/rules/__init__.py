"""The checks, one module per area (registry.RULE_MODULES: APP-* in app.py, EXO-* in exchange.py, ...), and the few
helpers they share."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from ..knowledge import Entry, lookup, match
from ..model import BriefCheck, BriefPass, CheckResult, Judge, Outcome, skipped, warned

FULL_ACCESS_AS_APP = "full_access_as_app"
FULL_ACCESS_ROLE_ID = "dc890d15-9560-4a4c-9b7f-a736ec74ec40"  # well known; resolved by name where possible
# What Microsoft's Grant-SssGraphApplicationPermissions.ps1 grants (the documentation lists all but User.Read.All).
GRAPH_ROLES = ("Mail.ReadWrite", "Mail.Send", "MailboxSettings.ReadWrite", "Calendars.ReadWrite", "Contacts.ReadWrite",
               "Tasks.ReadWrite.All", "MailboxConfigItem.ReadWrite", "Chat.Read.All", "OnlineMeetings.ReadWrite.All",
               "CallRecords.Read.All", "User.Read.All")


def clean_id(value: object) -> str:
    """A GUID as compared: lower case, without surrounding whitespace or braces."""
    return str(value or "").strip().strip("{}").strip().lower()


def same_id(left: object, right: object) -> bool:
    """GUIDs compare case-insensitively; an empty id matches nothing."""
    if left == right:  # the common case, 100,000 times over: the same text from the same service
        return bool(clean_id(left))
    cleaned = clean_id(left)
    return bool(cleaned) and cleaned == clean_id(right)


def app_subject(client_id: str) -> str:
    return f"app {client_id}"


def application_roles(resource_sp: Mapping[str, Any] | None) -> list[Mapping[str, Any]]:
    """The enabled app roles of a resource's service principal that an application may hold."""
    roles: Iterable[Mapping[str, Any]] = (resource_sp or {}).get("appRoles") or []
    return [r for r in roles
            if "Application" in (r.get("allowedMemberTypes") or []) and r.get("isEnabled", True) is not False]


def role_id(resource_sp: Mapping[str, Any] | None, value: str) -> str | None:
    """The id of the application role called `value` (its name, e.g. full_access_as_app), or None."""
    return next((clean_id(r.get("id")) for r in application_roles(resource_sp) if r.get("value") == value), None)


def role_names(resource_sp: Mapping[str, Any] | None) -> dict[str, str]:
    """Role id (lower case) -> role name, for every role the resource's service principal defines."""
    roles: Iterable[Mapping[str, Any]] = (resource_sp or {}).get("appRoles") or []
    return {clean_id(r.get("id")): str(r.get("value") or r.get("displayName") or r.get("id")) for r in roles}


def parse_time(value: object) -> datetime | None:
    """An ISO 8601 timestamp from Graph or Dataverse as an aware UTC datetime (naive values are taken as UTC)."""
    if not value:
        return None
    moment = datetime.fromisoformat(str(value))
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def day(moment: datetime) -> str:
    """'2026-11-26' (the date in the moment's own zone)."""
    return moment.date().isoformat()


def names(items: Iterable[str]) -> str:
    """'a', 'a and b', 'a, b and c'."""
    listed = list(items)
    return "".join(listed) if len(listed) < 2 else f"{', '.join(listed[:-1])} and {listed[-1]}"


def full_access_role(exchange_resource_sp: Mapping[str, Any] | None) -> tuple[str, str]:
    """full_access_as_app's role id, resolved by name on tenant B's Exchange principal, and a note when assumed."""
    resolved = role_id(exchange_resource_sp, FULL_ACCESS_AS_APP)
    if resolved:
        return resolved, ""
    why = ("tenant B has no Office 365 Exchange Online service principal" if exchange_resource_sp is None
           else "tenant B's Office 365 Exchange Online service principal does not list it")
    return FULL_ACCESS_ROLE_ID, f" (assumed the well-known role id {FULL_ACCESS_ROLE_ID}: {why})"


def held_roles(assignments: Iterable[Mapping[str, Any]], principal: Mapping[str, Any],
               resource: Mapping[str, Any]) -> dict[str, str]:
    """Role id -> role name, for each role the principal holds on the resource."""
    known = role_names(resource)
    return {clean_id(a.get("appRoleId")): known.get(clean_id(a.get("appRoleId")), str(a.get("appRoleId")))
            for a in assignments
            if same_id(a.get("principalId"), principal.get("id")) and same_id(a.get("resourceId"), resource.get("id"))}


def missing_graph_roles(client_sp: Mapping[str, Any], graph_sp: Mapping[str, Any] | None,
                        assignments: Iterable[Mapping[str, Any]]) -> tuple[list[str], list[str]]:
    """The GRAPH_ROLES the app does not hold in tenant B (sorted), and those tenant B's Graph does not even offer."""
    held = set(held_roles(assignments, client_sp, graph_sp or {}))
    unknown = [n for n in GRAPH_ROLES if role_id(graph_sp, n) is None]
    missing = sorted(n for n in GRAPH_ROLES if n in unknown or role_id(graph_sp, n) not in held)
    return missing, unknown


def known_cause(codes: Iterable[object] = (), texts: Iterable[object] = ()) -> Entry | None:
    """The knowledge-base entry for the first code it knows (a non-zero code), else the first text it recognises."""
    for code in codes:
        if code not in (None, "", 0, "0"):
            entry = lookup(str(code))
            if entry is not None:
                return entry
    for text in texts:
        hits = match(str(text)) if text else []
        if hits:
            return hits[0]
    return None


def trim(text: object, limit: int = 300) -> str:
    """A text for evidence or a message: one line, at most `limit` characters."""
    flat = " ".join(str(text or "").split())
    return flat if len(flat) <= limit else flat[:limit - 1].rstrip() + "…"


def ago(moment: datetime, now: datetime) -> str:
    """'12 minutes ago', '5 hours ago', '3 days ago'."""
    minutes = max(0, round((now - moment).total_seconds() / 60))
    if minutes < 120:
        return f"{minutes} minute{'' if minutes == 1 else 's'} ago"
    if minutes < 48 * 60:
        return f"{round(minutes / 60)} hours ago"
    return f"{round(minutes / 1440)} days ago"


def profile_subject(selection: Mapping[str, Any]) -> str:
    """The profile by name: the match's, else the configured name, else a generic label (as the engine's skips)."""
    name = (selection.get("match") or {}).get("name") or selection.get("wanted")
    return f"profile {name}" if name else "email server profile"


MISSING_MAILBOX = "no mailbox with this address exists in Dynamics"


def not_checked(address: str) -> Outcome:
    """A listed address that matched no mailbox, for every mailbox check but MBX-001 (which fails it)."""
    return skipped(address, f"{MISSING_MAILBOX} (see MBX-001)", address=address)


def each_mailbox(mailboxes: Mapping[str, Any], subjects: Sequence[str], judge: Judge,
                 missing: Callable[[str], Outcome]) -> CheckResult:
    """One outcome per mailbox in scope (and per listed address that matched none), or one warning for none;
    `subjects` are the rows' subjects, in their order (the `mailbox_subjects` evidence).

    Each mailbox is judged briefly: a pass comes out as a `BriefPass` that writes its message and evidence only
    when read (what a report of 100,000 mailboxes needs), anything else whole."""
    profile, rows = mailboxes.get("profile"), mailboxes.get("rows") or []
    if profile is None:
        yield skipped("mailboxes", "no email server profile selected (see PRF-001)")
        return
    if not rows and mailboxes.get("scope") == "all":
        yield warned("mailboxes", f"no active mailboxes use profile {profile.get('name')}: nothing syncs through it",
                     profile=profile.get("name"), profile_id=profile.get("id"))
        return
    for address in mailboxes.get("missing") or []:
        yield missing(address)
    shared = BriefCheck(judge)  # what all its passes share, held once
    for subject, row in zip(subjects, rows, strict=True):
        yield judge(subject, row, True) or BriefPass(subject, shared, row)
