"""Checks on the mailboxes in scope: on the profile with server-side sync, approved, through Test & Enable, and
addressed in a domain of the Exchange tenant."""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import Any

from ..model import CheckResult, Outcome, Remediation, RunIds, Severity, failed, passed, warned
from ..registry import check
from . import MISSING_MAILBOX, day, each_mailbox, known_cause, names, not_checked, parse_time, same_id
from . import fixes as portal
from .fixes import known_fix, profile_name
from .sources import CUSTOM_DOMAINS, LEARN_CROSS_TENANT, LEARN_EXCHANGE_ONLINE, MAILBOX_TABLE

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
_REFERENCES = (LEARN_EXCHANGE_ONLINE, LEARN_CROSS_TENANT, MAILBOX_TABLE)
_DOMAIN_STEPS = ("Use the mailbox's address in the Exchange tenant (a verified domain there), or verify the domain in "
                 "tenant B if it belongs there; a subdomain must be verified on its own.",
                 "Then Approve Email (an address change resets the approval) and run Test & Enable.")

def _not_found(address: str) -> Outcome:
    return failed(address, f"{MISSING_MAILBOX}: {address}", address=address)


def fix_mailbox_delivery(ids: RunIds) -> Remediation:
    name = profile_name(ids)
    return Remediation(
        f"Point the mailbox at {name} and set every delivery method to server-side synchronization.",
        steps=(portal.mailboxes(ids, "Edit"),
               f"Server Profile = {name}; Incoming Email = Server-Side Synchronization or Email Router; Outgoing "
               "Email = Server-Side Synchronization or Email Router; Appointments, Contacts, and Tasks = "
               "Server-Side Synchronization.",
               "Save, then Test & Enable Mailbox. 'Apply Default Email Settings' moves mailboxes to the default "
               "profile, which may be the same-tenant one."),
    )


@check("MBX-001", "Each mailbox in scope uses the profile and server-side synchronization", Severity.HIGH,
       link="mailboxes", remedy=fix_mailbox_delivery, references=_REFERENCES, depends_on=("PRF-001",))
def mailbox_uses_profile_and_server_side_sync(mailboxes: Mapping[str, Any],
                                              mailbox_subjects: list[str]) -> CheckResult:
    """A mailbox syncs with tenant B only through the cross-tenant profile, and only for what its delivery methods
    hand to server-side synchronization. Apply Default Email Settings quietly moves mailboxes to the default
    (same-tenant) profile."""
    yield from each_mailbox(mailboxes, mailbox_subjects, partial(_delivery, mailboxes.get("profile") or {}),
                            _not_found)


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


def approve_mailbox(ids: RunIds) -> Remediation:
    return Remediation(
        "Approve the mailbox's email address, then run Test & Enable.",
        steps=(portal.mailboxes(ids, "Approve Email"),
               "Approve as a Global or Exchange administrator who is also System Administrator in Dynamics; for the "
               "cross-tenant profile the approver must be an administrator of the primary tenant.",
               "Then Test & Enable Mailbox."),
    )


@check("MBX-002", "Each mailbox's email address is approved", Severity.HIGH, link="mailboxes",
       remedy=approve_mailbox, references=_REFERENCES, depends_on=("PRF-001",))
def mailbox_address_is_approved(mailboxes: Mapping[str, Any], mailbox_subjects: list[str],
                                organization_settings: Mapping[str, Any]) -> CheckResult:
    """With "Process emails only for approved users/queues" on (the default), server-side sync leaves a mailbox
    alone until an administrator approves its address; editing the address resets the approval."""
    yield from each_mailbox(mailboxes, mailbox_subjects, partial(_approval, organization_settings), not_checked)


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


def run_test_and_enable(ids: RunIds) -> Remediation:
    return Remediation(
        "Run Test & Enable on the mailbox and read its alerts if it fails.",
        steps=(portal.mailboxes(ids, "Test & Enable Mailbox"),
               "Wait for the test to finish, then check Incoming Email Status, Outgoing Email Status and "
               "Appointments, Contacts, and Tasks Status; on failure open the mailbox's Alerts for the cause.",
               "A mailbox that fails with 401 while others pass is often left out by an Exchange application access "
               "policy or RBAC scope in the Exchange tenant."),
    )


@check("MBX-003", "Each mailbox passed Test & Enable and is enabled", Severity.HIGH, link="mailboxes",
       remedy=run_test_and_enable, references=_REFERENCES, depends_on=("PRF-001",))
def mailbox_passed_test_and_enable(mailboxes: Mapping[str, Any], mailbox_subjects: list[str]) -> CheckResult:
    """Test & Enable proves Dynamics can reach the mailbox in tenant B for incoming and outgoing email and for
    appointments, contacts and tasks; a mailbox never tested does not sync, and one that failed is disabled."""
    yield from each_mailbox(mailboxes, mailbox_subjects, _tested, not_checked)


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


def fix_mailbox_domain(ids: RunIds, known_cause: str | None = None) -> Remediation:
    """The known cause (no user found with the address) with the steps for a domain; else the steps alone."""
    return known_fix(known_cause, _DOMAIN_STEPS) or Remediation(
        f"Give the mailbox an address in a verified domain of tenant {ids.exchange_tenant}, or verify its domain "
        "there.",
        steps=(portal.mailboxes(ids, "check Email Address against the user's mail addresses in the Exchange tenant"),
               f"If the domain belongs to tenant {ids.exchange_tenant}, add and verify it there (a subdomain is a "
               "separate domain and needs verifying on its own).",
               "Then Approve Email (an address change resets the approval) and run Test & Enable."),
    )
@check("MBX-005", "Each mailbox's address is in a verified domain of the Exchange tenant", Severity.HIGH,
       link="mailboxes", remedy=fix_mailbox_domain, references=(*_REFERENCES, CUSTOM_DOMAINS),
       depends_on=("PRF-001", "EXO-004"))
def mailbox_domain_is_verified_in_exchange_tenant(mailboxes: Mapping[str, Any], mailbox_subjects: list[str],
                                                  tenant_domains: Mapping[str, Any]) -> CheckResult:
    """Exchange in tenant B finds a mailbox only by an address in one of tenant B's verified domains. An address in
    another tenant's domain (a mailbox that belongs to tenant A, a typo, a domain never verified) cannot sync through
    the cross-tenant profile; Test & Enable reports that no user was found with the address."""
    verified = [str(d).lower() for d in tenant_domains.get("verified") or []]
    judge = partial(_in_domain, verified, frozenset(verified), verified[:10])
    yield from each_mailbox(mailboxes, mailbox_subjects, judge, not_checked)


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
                  f"{listed or 'no domain at all'}", **evidence)

