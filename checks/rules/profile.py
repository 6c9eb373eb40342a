"""Checks on the Dataverse email server profile: it exists and is active, uses cross-tenant OAuth to Exchange Online,
and names the app and tenant B."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..model import CheckResult, Outcome, Remediation, RunIds, Severity, errored, failed, passed, skipped, warned
from ..probes.dataverse import EXCHANGE_SERVER_TYPES
from ..registry import check
from . import day, known_cause, names, parse_time, profile_subject, trim
from .fixes import known_fix, profile_name, profiles
from .sources import LEARN_CROSS_TENANT, LEARN_EXCHANGE_ONLINE, PROFILE_FORM_ISSUE, PROFILE_TABLE, SSS_MONITORING

SERVER_TYPES: dict[object, str] = {0: "Exchange Server", 1: "Other (POP3/SMTP)", 2: "Exchange Server (Hybrid)",
                                   3: "Exchange Online (Hybrid)", 4: "IMAP/SMTP"}
CREDENTIAL_RETRIEVAL: dict[object, str] = {
    0: "credentials specified by a user or queue", 1: "credentials specified in the profile",
    2: "server-to-server authentication", 3: "Windows integrated authentication", 4: "without credentials",
    5: "Gmail OAuth", 6: "Exchange hybrid modern authentication", 7: "OAuth with Microsoft Entra ID",
}
OAUTH = 7
NOT_EXCHANGE = (1, 4)  # Other (POP3/SMTP), IMAP/SMTP: documented, and not Exchange at all
_PROFILE_SETTINGS = ("servertype", "emailservertypename", "incomingcredentialretrieval", "outgoingcredentialretrieval",
                     "isoauthclientsecretset")
_NO_PROFILE = "no email server profile selected (see PRF-001)"
_REFERENCES = (LEARN_CROSS_TENANT, LEARN_EXCHANGE_ONLINE, PROFILE_TABLE)
# (column, what it records); values 0 Failure, 1 Success, 2 Warning (the last only for execution)
_PROFILE_TESTS = (("lasttestexecutionstatus", "the test run"), ("lasttestvalidationstatus", "validation"),
                  ("lastauthorizationstatus", "authorization"))


def fix_profile(ids: RunIds) -> Remediation:
    name = profile_name(ids)
    return Remediation(
        f"Activate or re-create the Exchange Online 'Oauth (Cross Tenant)' email server profile {name}, or name the "
        "right one in the config (dynamics.profile).",
        steps=(profiles(ids, f"select {name} > Activate"),
               "If it does not exist: New server profile > Email Server Type = Exchange Online, Authentication "
               f"Type = Oauth (Cross Tenant), TenantId = {ids.exchange_tenant}, Application ID = {ids.client_id}, "
               "Client secret = the secret's value; then move the mailboxes to it.",
               "If several profiles qualify, set dynamics.profile to the name or id of the one to audit."),
    )


@check("PRF-001", "The email server profile exists and is active", Severity.CRITICAL, link="profile",
       remedy=fix_profile, references=_REFERENCES)
def email_server_profile_is_active(email_server_profile: Mapping[str, Any]) -> CheckResult:
    """Every mailbox syncs through its email server profile; a missing or inactive profile stops them all, and an
    ambiguous choice means xtcheck cannot tell which one to audit."""
    selection, subject = email_server_profile, profile_subject(email_server_profile)
    match, wanted = selection.get("match"), selection.get("wanted")
    candidates = list(selection.get("candidates") or [])
    configured = selection.get("mode") == "configured"
    if match is None:
        yield _unmatched(subject, configured, wanted, candidates)
        return
    evidence: dict[str, Any] = {"id": match.get("emailserverprofileid"), "name": match.get("name"),
                                "statecode": match.get("statecode"), "mode": selection.get("mode"),
                                "modifiedon": match.get("modifiedon")}
    how = f"selected as configured ({wanted})" if configured else "found by auto-detection"
    if match.get("statecode") == 0:
        yield passed(subject, f"profile {match.get('name')} is active ({how})", **evidence)
    elif match.get("statecode") == 1:
        yield failed(subject, f"profile {match.get('name')} is inactive (statecode 1), so its mailboxes stop "
                     "processing", **evidence)
    else:
        yield errored(subject, f"profile {match.get('name')} was read without a known state "
                      f"(statecode {match.get('statecode')})", **evidence)


def _unmatched(subject: str, configured: bool, wanted: str | None, candidates: list[Mapping[str, Any]]) -> Outcome:
    listed = "; ".join(f"{c.get('name')} ({c.get('id')})" for c in candidates)
    evidence: dict[str, Any] = {"mode": "configured" if configured else "auto", "wanted": wanted,
                                "candidates": candidates}
    if configured and candidates:
        return errored(subject, f"{len(candidates)} email server profiles match {wanted!r}: {listed}; set "
                       "dynamics.profile to the id of the one to audit", **evidence)
    if configured:
        return failed(subject, f"no email server profile named {wanted!r} (or with that id) exists in the "
                      "environment", **evidence)
    if candidates:
        return errored(subject, f"{len(candidates)} active cross-tenant OAuth profiles found: {listed}; set "
                       "dynamics.profile to the name or id of the one to audit", **evidence)
    return failed(subject, "no active cross-tenant OAuth email server profile found; set dynamics.profile to name "
                  "the profile to audit", **evidence)


def fix_profile_settings(ids: RunIds) -> Remediation:
    name = profile_name(ids)
    return Remediation(
        f"Make {name} an Exchange Online profile with Authentication Type 'Oauth (Cross Tenant)' and its client "
        "secret set.",
        steps=(profiles(ids, f"open {name}"),
               "Email Server Type = Exchange Online; Authentication Type = Oauth (Cross Tenant); "
               f"TenantId = {ids.exchange_tenant}; Application ID = {ids.client_id}; Client secret = the value of a "
               "valid secret (not its Secret ID).",
               f"The saved form hides these fields (known issue: {PROFILE_FORM_ISSUE}); if you cannot edit them, "
               "create a new profile with these values and move the mailboxes to it, then run Test & Enable."),
    )


@check("PRF-002", "The profile is an Exchange Online profile using OAuth with a client secret set", Severity.HIGH,
       link="profile", remedy=fix_profile_settings, references=(*_REFERENCES, PROFILE_FORM_ISSUE),
       depends_on=("PRF-001",))
def profile_uses_exchange_online_oauth(email_server_profile: Mapping[str, Any]) -> CheckResult:
    """The cross-tenant profile must be an Exchange Online profile that authenticates with the app's client secret
    ("Oauth (Cross Tenant)"). Without a stored secret Dynamics cannot prove the app's identity (AADSTS7000218). How
    the authentication type is stored is not documented, so an unexpected value is a warning, not a failure."""
    match = email_server_profile.get("match")
    subject = profile_subject(email_server_profile)
    if match is None:
        yield skipped(subject, _NO_PROFILE)
        return
    evidence: dict[str, Any] = {k: match.get(k) for k in _PROFILE_SETTINGS}
    problems = _setting_problems(match)
    doubts = _server_type_doubts(match) + _authentication_doubts(match)
    name = match.get("name")
    if problems:
        yield failed(subject, f"profile {name}: {'; '.join(problems + doubts)}", **evidence)
    elif doubts:
        yield warned(subject, f"profile {name}: {'; '.join(doubts)}", **evidence)
    else:
        yield passed(subject, f"profile {name} is an Exchange Online profile (servertype {match.get('servertype')}, "
                     f"'{match.get('emailservertypename')}') using OAuth (credential retrieval 7) with a client "
                     "secret stored", **evidence)


def _setting_problems(match: Mapping[str, Any]) -> list[str]:
    problems = []
    kind = match.get("servertype")
    if kind in NOT_EXCHANGE:
        problems.append(f"its server type is {SERVER_TYPES[kind]} (servertype {kind}), not Exchange")
    if match.get("isoauthclientsecretset") is not True:
        problems.append("no client secret is stored in the profile")
    return problems


def _server_type_doubts(match: Mapping[str, Any]) -> list[str]:
    """Microsoft documents servertype 0-4 and not which one a modern Exchange Online profile stores: anything but
    the two seen on such profiles, or a non-Exchange type, is worth a second look, not a verdict."""
    kind = match.get("servertype")
    if kind in EXCHANGE_SERVER_TYPES or kind in NOT_EXCHANGE:
        return []
    label = SERVER_TYPES.get(kind, "a value outside the documented 0-4")
    return [f"its server type reads {label} (servertype {kind}) where an Exchange Online profile is expected to store "
            "0 or 3 (Microsoft does not document which; see `xtcheck explain profile-settings-uncertain`)"]


def _authentication_doubts(match: Mapping[str, Any]) -> list[str]:
    values = sorted({match.get("incomingcredentialretrieval"), match.get("outgoingcredentialretrieval")}, key=str)
    odd = [v for v in values if v != OAUTH]
    if not odd:
        return []
    seen = " and ".join(f"{CREDENTIAL_RETRIEVAL.get(v, 'unknown')} ({v})" for v in values)
    same_tenant = "; 2 is how the same-tenant server-to-server profile is stored" if 2 in odd else ""
    return [f"its authentication type reads {seen} where 'Oauth (Cross Tenant)' is expected to store "
            f"{OAUTH} (OAuth with Microsoft Entra ID, not confirmed by Microsoft's documentation; see `xtcheck "
            f"explain profile-settings-uncertain`){same_tenant}"]


def retest_profile(ids: RunIds, known_cause: str | None = None) -> Remediation:
    """The known cause of the failed test when xtcheck recognised it; else how to test again."""
    name = profile_name(ids)
    return known_fix(known_cause) or Remediation(
        f"Fix what the last test of {name} reported, then test it again.",
        steps=(profiles(ids, f"open {name} > read Last Test Result and its message"),
               "An authorization failure points at the app: its client id, tenant id or secret in the profile, or "
               f"consent in tenant {ids.exchange_tenant} (run xtcheck's APP, EXO and PRF checks).",
               "Then run Test & Enable on one mailbox of the profile."),
    )


@check("PRF-005", "The profile's last test and authorization succeeded", Severity.HIGH, link="profile",
       remedy=retest_profile, references=(LEARN_CROSS_TENANT, PROFILE_TABLE, SSS_MONITORING), depends_on=("PRF-001",))
def profile_last_test_succeeded(email_server_profile: Mapping[str, Any]) -> CheckResult:
    """Dynamics records the outcome of the profile's last test and of its last authorization against Exchange. A
    failure there means the profile's own credentials (the app, its secret, tenant B) did not work the last time they
    were tried, whatever the configuration looks like."""
    match, subject = email_server_profile.get("match"), profile_subject(email_server_profile)
    if match is None:
        yield skipped(subject, _NO_PROFILE)
        return
    name, message = match.get("name"), trim(match.get("lastcrmmessage"))
    statuses = {column: match.get(column) for column, _ in _PROFILE_TESTS}
    when = parse_time(match.get("lastteststarttime"))
    evidence: dict[str, Any] = {**statuses, "lastteststarttime": match.get("lastteststarttime"),
                                "lastcrmmessage": message or None}
    tested = f" on {day(when)}" if when else ""
    said = f": {message}" if message else ""
    if all(value is None for value in statuses.values()):
        yield warned(subject, f"profile {name} has never been tested, so nothing shows that its credentials work",
                     **evidence)
        return
    failures = [what for column, what in _PROFILE_TESTS if statuses[column] == 0]
    if failures:
        entry = known_cause(texts=[message])
        evidence["known_cause"] = entry.key if entry else None
        yield failed(subject, f"the last test of profile {name}{tested} failed for {names(failures)}{said}",
                     **evidence)
    elif statuses["lasttestexecutionstatus"] == 2:
        yield warned(subject, f"the last test of profile {name}{tested} ended with a warning{said}", **evidence)
    else:
        succeeded = names([what for column, what in _PROFILE_TESTS if statuses[column] == 1])
        yield passed(subject, f"the last test of profile {name}{tested} succeeded ({succeeded})", **evidence)
