"""Checks on the mailboxes in scope: on the profile with server-side sync, approved, through Test & Enable, and
addressed in a domain of the Exchange tenant."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from typing import Any

from ..model import BriefPass, CheckResult, Judge, Outcome, Severity, failed, passed, skipped, warned
from ..probes.dataverse import READ_MAILBOXES, READ_ORGANIZATION, READ_PROFILES
from ..probes.entra import READ_DOMAINS_B
from ..registry import check
from . import day, known_cause, names, parse_time, remedies, same_id

APPROVAL: dict[object, str] = {0: "Empty", 1: "Approved", 2: "Pending Approval", 3: "Rejected"}
_SSS = "Server-Side Synchronization or Email Router"
_OUTLOOK = "Microsoft Dynamics 365 for Outlook"
INCOMING: dict[object, str] = {0: "None", 1: _OUTLOOK, 2: _SSS, 3: "Forward Mailbox"}
OUTGOING: dict[object, str] = {0: "None", 1: _OUTLOOK, 2: _SSS}
ACT: dict[object, str] = {0: _OUTLOOK, 1: "Server-Side Synchronization", 2: "None"}  # note the different order
# (delivery column, the server-side sync value, its labels, what it carries)
_DELIVERY = (("incomingemaildeliverymethod", 2, INCOMING, "incoming email"),
             ("outgoingemaildeliverymethod", 2, OUTGOING, "outgoing email"),
             ("actdeliverymethod", 1, ACT, "appointments, contacts and tasks"))
# (status column, enabled flag, what it covers); statuses: 0 Not Run, 1 Success, 2 Failure
_TESTS = (("incomingemailstatus", "enabledforincomingemail", "incoming email"),
          ("outgoingemailstatus", "enabledforoutgoingemail", "outgoing email"),
          ("actstatus", "enabledforact", "appointments, contacts and tasks"))
_REFERENCES = (remedies.LEARN_EXCHANGE_ONLINE, remedies.LEARN_CROSS_TENANT, remedies.MAILBOX_TABLE)
_MISSING = "no mailbox with this address exists in Dynamics"

def each_mailbox(mailboxes: Mapping[str, Any], judge: Judge, missing: Callable[[str], Outcome]) -> CheckResult:
    """One outcome per mailbox in scope (and per listed address that matched none), or one warning for none.

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
    for subject, row in zip(subjects(rows), rows, strict=True):
        yield judge(subject, row, True) or BriefPass(subject, judge, row)


def subjects(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    """Each mailbox's subject: its address, or with its name beside it when two mailboxes share the address.

    The five mailbox checks ask in turn for the same rows, so the last answer is kept, by the rows' identity, in
    one tuple swapped whole (a thread never pairs one list's subjects with another list)."""
    global _last  # noqa: PLW0603
    last = _last
    if last is not None and last[0] is rows:
        return list(last[1])
    addresses = [_address(row) for row in rows]
    seen = Counter(address.lower() for address in addresses)
    named = [address if seen[address.lower()] == 1 else f"{address} ({row.get('name')})"
             for address, row in zip(addresses, rows, strict=True)]
    _last = (rows, named)
    return named


_last: tuple[Sequence[Mapping[str, Any]], list[str]] | None = None  # the last rows asked for, and their subjects


def _address(row: Mapping[str, Any]) -> str:
    address = row.get("emailaddress")
    return address if type(address) is str and address else \
        str(address or f"mailbox {row.get('name') or row.get('mailboxid')}")


def _not_found(address: str) -> Outcome:
    return failed(address, f"{_MISSING}: {address}", address=address)


def not_checked(address: str) -> Outcome:
    return skipped(address, f"{_MISSING} (see MBX-001)", address=address)


@check("MBX-001", "Each mailbox in scope uses the profile and server-side synchronization", Severity.HIGH,
       remedy=remedies.fix_mailbox_delivery, references=_REFERENCES, permissions=(READ_MAILBOXES, READ_PROFILES),
       depends_on=("PRF-001",))
def mailbox_uses_profile_and_server_side_sync(mailboxes: Mapping[str, Any]) -> CheckResult:
    """A mailbox syncs with tenant B only through the cross-tenant profile, and only for what its delivery methods
    hand to server-side synchronization. Apply Default Email Settings quietly moves mailboxes to the default
    (same-tenant) profile."""
    yield from each_mailbox(mailboxes, partial(_delivery, mailboxes.get("profile") or {}), _not_found)


def _delivery(profile: Mapping[str, Any], subject: str, row: Mapping[str, Any],
              brief: bool = False) -> Outcome | None:
    problems = []
    if not same_id(row.get("_emailserverprofile_value"), profile.get("id")):
        other = (row.get("emailserverprofile") or {}).get("name") or row.get("_emailserverprofile_value")
        problems.append(f"uses profile '{other}' instead of '{profile.get('name')}'" if other
                        else f"has no email server profile (expected '{profile.get('name')}')")
    for column, wanted, labels, what in _DELIVERY:
        if row.get(column) != wanted:
            value = row.get(column)
            problems.append(f"delivers {what} by {labels.get(value, 'an unknown method')} ({value}), not "
                            f"{labels[wanted]}")
    if brief and not problems:
        return None
    evidence: dict[str, Any] = {"_emailserverprofile_value": row.get("_emailserverprofile_value"),
                "profile_name": _profile_name(row, profile),
                "expected_profile_id": profile.get("id"), **{c: row.get(c) for c, *_ in _DELIVERY}}
    if problems:
        return failed(subject, f"mailbox {subject} {'; '.join(problems)}", **evidence)
    return passed(subject, f"mailbox {subject} uses profile '{profile.get('name')}' with server-side synchronization "
                  "for email and for appointments, contacts and tasks", **evidence)


@check("MBX-002", "Each mailbox's email address is approved", Severity.HIGH, remedy=remedies.approve_mailbox,
       references=_REFERENCES, permissions=(READ_MAILBOXES, READ_PROFILES, READ_ORGANIZATION),
       depends_on=("PRF-001",))
def mailbox_address_is_approved(mailboxes: Mapping[str, Any], organization_settings: Mapping[str, Any]) -> CheckResult:
    """With "Process emails only for approved users/queues" on (the default), server-side sync leaves a mailbox
    alone until an administrator approves its address; editing the address resets the approval."""
    yield from each_mailbox(mailboxes, partial(_approval, organization_settings), not_checked)


def _profile_name(row: Mapping[str, Any], profile: Mapping[str, Any]) -> Any:
    """The name of the mailbox's profile: expanded in the row, or the selected profile's when the row is on it (rows
    read for `mailboxes: all` are, and do not carry it)."""
    expanded = (row.get("emailserverprofile") or {}).get("name")
    if expanded is None and same_id(row.get("_emailserverprofile_value"), profile.get("id")):
        return profile.get("name")
    return expanded


def _approval(organization: Mapping[str, Any], subject: str, row: Mapping[str, Any],
              brief: bool = False) -> Outcome | None:
    value = row.get("emailrouteraccessapproval")
    if brief and value == 1:
        return None
    status = APPROVAL.get(value, f"unknown ({value})") if isinstance(value, int) else f"unknown ({value})"
    queue = row.get("regardingobjecttypecode") in ("queue", 2020)
    setting = "requireapprovalforqueueemail" if queue else "requireapprovalforuseremail"
    required = organization.get(setting) is not False  # on unless the organization turned it off
    evidence: dict[str, Any] = {"emailrouteraccessapproval": value, "status": status,
                "isemailaddressapprovedbyo365admin": row.get("isemailaddressapprovedbyo365admin"),
                "regardingobjecttypecode": row.get("regardingobjecttypecode"), setting: organization.get(setting)}
    if value == 1:
        return passed(subject, f"mailbox {subject} has an approved email address", **evidence)
    kind = "queues" if queue else "users"
    if not required:
        return warned(subject, f"mailbox {subject}'s email address is {status}, but the organization processes email "
                      f"for unapproved {kind} too, so it syncs anyway", **evidence)
    return failed(subject, f"mailbox {subject}'s email address is {status}, and the organization processes email "
                  f"only for approved {kind}", **evidence)


@check("MBX-003", "Each mailbox passed Test & Enable and is enabled", Severity.HIGH,
       remedy=remedies.run_test_and_enable, references=_REFERENCES, permissions=(READ_MAILBOXES, READ_PROFILES),
       depends_on=("PRF-001",))
def mailbox_passed_test_and_enable(mailboxes: Mapping[str, Any]) -> CheckResult:
    """Test & Enable proves Dynamics can reach the mailbox in tenant B for incoming and outgoing email and for
    appointments, contacts and tasks; a mailbox never tested does not sync, and one that failed is disabled."""
    yield from each_mailbox(mailboxes, _tested, not_checked)


def _tested(subject: str, row: Mapping[str, Any], brief: bool = False) -> Outcome | None:
    if brief and all(row.get(status) == 1 and row.get(flag) is not False for status, flag, _ in _TESTS):
        return None  # a shortcut: tested with success and enabled for all three, so none of the lists below fills
    failures = [what for status, _, what in _TESTS if row.get(status) not in (0, 1, None)]
    not_run = [what for status, _, what in _TESTS if row.get(status) in (0, None)]
    disabled = [what for _, flag, what in _TESTS if row.get(flag) is False]
    if brief and not (failures or not_run or disabled):
        return None
    queued = " (a Test & Enable is queued)" if row.get("testemailconfigurationscheduled") else ""
    evidence: dict[str, Any] = {c: row.get(c) for c in (*(t[0] for t in _TESTS), *(t[1] for t in _TESTS),
                                        "testmailboxaccesscompletedon", "testemailconfigurationscheduled")}
    if failures:
        off = ", and was disabled for them" if disabled == failures else (
            f", and was disabled for {names(disabled)}" if disabled else "")
        return failed(subject, f"mailbox {subject} failed Test & Enable for {names(failures)}{off}{queued}",
                      **evidence)
    if not_run:
        what = "" if len(not_run) == len(_TESTS) else f" for {names(not_run)}"
        return failed(subject, f"mailbox {subject} was never tested{what} (Test & Enable status Not Run){queued}",
                      **evidence)
    if disabled:
        return failed(subject, f"mailbox {subject} passed its last test but is disabled for {names(disabled)}{queued}",
                      **evidence)
    when = parse_time(row.get("testmailboxaccesscompletedon"))
    return passed(subject, f"mailbox {subject} passed Test & Enable for email and for appointments, contacts and "
                  f"tasks{f' (last tested on {day(when)})' if when else ''}{queued}", **evidence)


@check("MBX-005", "Each mailbox's address is in a verified domain of the Exchange tenant", Severity.HIGH,
       remedy=remedies.fix_mailbox_domain, references=(*_REFERENCES, remedies.CUSTOM_DOMAINS),
       permissions=(READ_MAILBOXES, READ_PROFILES, READ_DOMAINS_B), depends_on=("PRF-001", "EXO-004"))
def mailbox_domain_is_verified_in_exchange_tenant(mailboxes: Mapping[str, Any],
                                                  tenant_domains: Mapping[str, Any]) -> CheckResult:
    """Exchange in tenant B finds a mailbox only by an address in one of tenant B's verified domains. An address in
    another tenant's domain (a mailbox that belongs to tenant A, a typo, a domain never verified) cannot sync through
    the cross-tenant profile; Test & Enable reports that no user was found with the address."""
    verified = [str(d).lower() for d in tenant_domains.get("verified") or []]
    yield from each_mailbox(mailboxes, partial(_in_domain, verified, frozenset(verified), verified[:10]), not_checked)


def _in_domain(verified: list[str], known: frozenset[str], shown: list[str], subject: str, row: Mapping[str, Any],
               brief: bool = False) -> Outcome | None:
    address = str(row.get("emailaddress") or "").strip()
    domain = address.rpartition("@")[2].lower() if "@" in address else ""
    if brief and domain and domain in known:
        return None
    evidence: dict[str, Any] = {"emailaddress": address, "domain": domain or None, "verified": shown,
                                "verified_count": len(verified)}
    if domain and domain in known:
        return passed(subject, f"mailbox {subject}'s domain {domain} is a verified domain of tenant B", **evidence)
    listed = ", ".join(verified[:10]) + (f" and {len(verified) - 10} more" if len(verified) > 10 else "")
    parent = next((v for v in verified if domain.endswith(f".{v}")), None)
    note = (f" ({domain} is a subdomain of {parent}, and Entra treats a subdomain as a domain of its own that needs "
            "verifying)") if parent else ""
    entry = known_cause(texts=["no user was found with the email address"])
    evidence["known_cause"] = entry.key if entry else None
    what = f"domain {domain} is not" if domain else "address has no domain, so it is not in"
    return failed(subject, f"mailbox {subject}'s {what} a verified domain of tenant B{note}; tenant B verifies "
                  f"{listed or 'no domain at all'}", fix=remedies.known_fix(entry, _DOMAIN_STEPS) if entry else None,
                  **evidence)


_DOMAIN_STEPS = ("Use the mailbox's address in the Exchange tenant (a verified domain there), or verify the domain in "
                 "tenant B if it belongs there; a subdomain must be verified on its own.",
                 "Then Approve Email (an address change resets the approval) and run Test & Enable.")
