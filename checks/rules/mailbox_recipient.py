"""MBX-006: each mailbox's address belongs to a recipient in tenant B that server-side sync can use: an enabled,
Exchange-licensed user for a person's mailbox, any recipient (a shared mailbox, say) for a queue's."""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import Any

from ..model import CheckResult, Outcome, Remediation, RunIds, Severity, failed, passed, skipped, warned
from ..registry import check
from . import each_mailbox, not_checked
from . import fixes as portal
from .fixes import known_fix
from .sources import ERROR_8005E273, ERROR_8005E274, GRAPH_USER, LEARN_CROSS_TENANT, SHARED_MAILBOXES

_QUEUE = ("queue", 2020)
_USABLE = ("enabled", "warning")  # an Exchange plan in normal use, or in its grace period


def fix_recipient(ids: RunIds, known_cause: str | None = None) -> Remediation:
    """The known cause (a disabled account, no Exchange licence, no such user) with its fix; else the general one."""
    return known_fix(known_cause) or Remediation(
        f"Make each mailbox's address belong to a mail recipient in tenant {ids.exchange_tenant}: an enabled user "
        "with an Exchange Online licence, or a shared mailbox for a queue.",
        steps=(f"Microsoft 365 admin center of tenant {ids.exchange_tenant} > Users > Active users: find the user with "
               "the address (as primary address, alias or user name); unblock sign-in, assign an Exchange Online "
               "licence, or add the address as an alias.",
               portal.mailboxes(ids, "check Email Address; an address change resets the approval, so Approve Email "
                                     "and run Test & Enable afterwards")),
    )


@check("MBX-006", "Each mailbox's address belongs to a recipient in the Exchange tenant that can sync",
       Severity.HIGH, link="mailboxes", remedy=fix_recipient,
       references=(LEARN_CROSS_TENANT, ERROR_8005E273, ERROR_8005E274, SHARED_MAILBOXES, GRAPH_USER),
       depends_on=("PRF-001", "EXO-004"))
def mailbox_address_belongs_to_a_recipient(mailboxes: Mapping[str, Any], mailbox_subjects: list[str],
                                           exchange_recipients: Mapping[str, Any],
                                           recipient_index: Mapping[str, Mapping[str, Any]],
                                           tenant_domains: Mapping[str, Any]) -> CheckResult:
    """Exchange in tenant B serves a mailbox to server-side sync only through the user who has its address: a
    disabled account stops sync (0x8005E273), and a user without an Exchange Online licence, or whose mailbox is
    still on-premises, is not reachable (0x8005E274). A queue's mailbox is usually a shared mailbox, which needs no
    licence and whose sign-in is best blocked. Addresses outside tenant B's domains are MBX-005's to report."""
    if not exchange_recipients.get("granted"):
        yield skipped("mailboxes", "the reader may not read tenant B's users (User.Read.All is optional): grant it to "
                      "check each mailbox's recipient", not_read=exchange_recipients.get("reason"))
        return
    verified = frozenset(str(d).lower() for d in tenant_domains.get("verified") or [])
    yield from each_mailbox(mailboxes, mailbox_subjects, partial(_recipient, recipient_index, verified), not_checked)


def _recipient(index: Mapping[str, Mapping[str, Any]], verified: frozenset[str], subject: str,
               row: Mapping[str, Any], brief: bool = False) -> Outcome | None:
    address = str(row.get("emailaddress") or "").strip().lower()
    user = index.get(address)
    queue = row.get("regardingobjecttypecode") in _QUEUE
    licensed = user is not None and str(user.get("exchange") or "").lower() in _USABLE
    if brief and user is not None and (queue or (user.get("enabled") is True and licensed)):
        return None
    seen = user or {}
    evidence: dict[str, Any] = {"emailaddress": address, "queue": queue, "user": seen.get("id"),
                                "userPrincipalName": seen.get("upn"), "accountEnabled": seen.get("enabled"),
                                "exchange_plan": seen.get("exchange")}
    if user is None:
        return _no_recipient(subject, address, verified, evidence)
    if queue:
        return passed(subject, f"mailbox {subject} (a queue's) belongs to {user.get('upn')} in tenant B; a queue's "
                      "shared mailbox needs no licence and may have sign-in blocked", **evidence)
    if user.get("enabled") is not True:
        return failed(subject, f"mailbox {subject} belongs to {user.get('upn')} in tenant B, whose account is "
                      "disabled, so sync stops for it (0x8005E273)", known_cause="8005E273", **evidence)
    if not licensed:
        plan = user.get("exchange")
        return warned(subject, f"mailbox {subject} belongs to {user.get('upn')} in tenant B, who has no Exchange "
                      f"Online plan in use ({plan or 'none assigned'}): without a licence, or with the mailbox still "
                      "on-premises in a hybrid setup, Exchange Online cannot serve it (0x8005E274)",
                      known_cause="8005E274", **evidence)
    return passed(subject, f"mailbox {subject} belongs to {user.get('upn')}, an enabled user with Exchange Online in "
                  "tenant B", **evidence)


def _no_recipient(subject: str, address: str, verified: frozenset[str], evidence: dict[str, Any]) -> Outcome:
    domain = address.rpartition("@")[2]
    if domain not in verified:
        return skipped(subject, f"mailbox {subject}'s domain is not a verified domain of tenant B (see MBX-005)",
                       **evidence)
    return failed(subject, f"no user in tenant B has {address} as mail, user name or SMTP address, so Exchange finds "
                  "no mailbox for it (\"no user was found with the email address\")",
                  known_cause="test-enable-no-user-found", **evidence)
