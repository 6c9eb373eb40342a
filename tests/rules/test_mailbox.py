"""MBX-001..003 and MBX-005 called directly with Dataverse-shaped mailbox rows (and tenant B's verified domains)."""

from __future__ import annotations

from typing import Any

from rule_samples import fix, judged, verdicts

from checks.knowledge import lookup
from checks.model import Status
from checks.rules.mailbox import (
    mailbox_address_is_approved,
    mailbox_domain_is_verified_in_exchange_tenant,
    mailbox_passed_test_and_enable,
    mailbox_uses_profile_and_server_side_sync,
)

PROFILE_ID = "3f6e2d1c-0b9a-4c8d-a7e6-5f4e3d2c1b0a"
NAME = "Exchange Online cross-tenant (Contoso)"
DEFAULT_PROFILE_ID = "8a7b6c5d-4e3f-4a2b-9c1d-0e9f8a7b6c5d"
ORGANIZATION = {"name": "fabrikam-prod", "requireapprovalforuseremail": True, "requireapprovalforqueueemail": True}
ALICE, BRUNO, SALES = "alice.moreau@contoso.com", "bruno.keller@contoso.com", "sales@contoso.com"
DOMAINS = {"source": "domains", "verified": ["contoso.com", "contoso.onmicrosoft.com"]}


def mailbox(address: str, **changes: Any) -> dict[str, Any]:
    """A healthy mailbox row on the cross-tenant profile, with some columns changed."""
    row = {
        "mailboxid": f"6c1d2e3f-4a5b-4c6d-8e7f-{sum(map(ord, address)):012d}", "name": address.partition("@")[0],
        "emailaddress": address, "_emailserverprofile_value": PROFILE_ID, "regardingobjecttypecode": "systemuser",
        "emailrouteraccessapproval": 1, "isemailaddressapprovedbyo365admin": True,
        "incomingemaildeliverymethod": 2, "outgoingemaildeliverymethod": 2, "actdeliverymethod": 1,
        "incomingemailstatus": 1, "outgoingemailstatus": 1, "actstatus": 1, "mailboxstatus": 1,
        "enabledforincomingemail": True, "enabledforoutgoingemail": True, "enabledforact": True,
        "testemailconfigurationscheduled": False, "testmailboxaccesscompletedon": "2026-10-27T09:00:00Z",
        "isforwardmailbox": False, "statecode": 0,
        "emailserverprofile": {"name": NAME, "emailserverprofileid": PROFILE_ID},
    }
    return {**row, **changes}


def scope(*rows: dict[str, Any], listed: list[str] | None = None, missing: tuple[str, ...] = ()) -> dict[str, Any]:
    return {"scope": listed if listed is not None else "all", "profile": {"id": PROFILE_ID, "name": NAME},
            "rows": list(rows), "pages": 1, "missing": list(missing)}


# MBX-001

def test_mbx_001_passes_for_mailboxes_on_the_profile_with_server_side_sync() -> None:
    outcomes = verdicts(judged(mailbox_uses_profile_and_server_side_sync, scope(mailbox(ALICE), mailbox(SALES))))
    assert outcomes == [(Status.PASS, ALICE), (Status.PASS, SALES)]


def test_mbx_001_passes_with_an_upper_case_profile_id() -> None:
    mailboxes = scope(mailbox(ALICE, _emailserverprofile_value=PROFILE_ID.upper()))
    assert verdicts(judged(mailbox_uses_profile_and_server_side_sync, mailboxes)) == [(Status.PASS, ALICE)]


def test_mbx_001_fails_for_a_mailbox_on_another_profile() -> None:
    default = {"name": "Microsoft Exchange Online", "emailserverprofileid": DEFAULT_PROFILE_ID}
    other = mailbox(BRUNO, _emailserverprofile_value=DEFAULT_PROFILE_ID, emailserverprofile=default)
    outcomes = judged(mailbox_uses_profile_and_server_side_sync,
                      scope(mailbox(ALICE), other, listed=[ALICE, BRUNO]))
    assert verdicts(outcomes) == [(Status.PASS, ALICE), (Status.FAIL, BRUNO)]
    assert "uses profile 'Microsoft Exchange Online' instead of" in outcomes[1].message


def test_mbx_001_fails_for_a_mailbox_without_a_profile() -> None:
    [outcome] = judged(mailbox_uses_profile_and_server_side_sync, scope(mailbox(ALICE, _emailserverprofile_value=None,
                                                                        emailserverprofile=None)))
    assert outcome.status == Status.FAIL
    assert "has no email server profile" in outcome.message


def test_mbx_001_reads_act_delivery_in_its_own_order() -> None:
    act_none = mailbox(ALICE, actdeliverymethod=2)  # 2 is None for ACT, but server-side sync for email
    outlook = mailbox(BRUNO, incomingemaildeliverymethod=1)
    outcomes = judged(mailbox_uses_profile_and_server_side_sync, scope(act_none, outlook))
    assert verdicts(outcomes) == [(Status.FAIL, ALICE), (Status.FAIL, BRUNO)]
    assert "appointments, contacts and tasks by None (2)" in outcomes[0].message
    assert "incoming email by Microsoft Dynamics 365 for Outlook (1)" in outcomes[1].message


def test_mbx_001_fails_each_listed_address_that_matches_no_mailbox() -> None:
    mailboxes = scope(mailbox(ALICE), listed=[ALICE, "ghost@contoso.com", "gone@contoso.com"],
                      missing=("ghost@contoso.com", "gone@contoso.com"))
    outcomes = judged(mailbox_uses_profile_and_server_side_sync, mailboxes)
    assert verdicts(outcomes) == [(Status.FAIL, "ghost@contoso.com"), (Status.FAIL, "gone@contoso.com"),
                                  (Status.PASS, ALICE)]
    assert "no mailbox with this address exists in Dynamics" in outcomes[0].message


def test_mbx_001_warns_once_when_no_mailbox_uses_the_profile() -> None:
    [outcome] = judged(mailbox_uses_profile_and_server_side_sync, scope())
    assert (outcome.status, outcome.subject) == (Status.WARN, "mailboxes")
    assert "nothing syncs" in outcome.message


def test_mbx_001_tells_apart_mailboxes_sharing_an_address() -> None:
    rows = (mailbox(SALES, name="Sales queue", regardingobjecttypecode="queue"), mailbox(SALES, name="Sales lead"))
    assert verdicts(judged(mailbox_uses_profile_and_server_side_sync, scope(*rows))) == [
        (Status.PASS, f"{SALES} (Sales queue)"), (Status.PASS, f"{SALES} (Sales lead)")]


def test_mbx_001_skips_without_a_profile() -> None:
    mailboxes = {**scope(mailbox(ALICE)), "profile": None}
    assert verdicts(judged(mailbox_uses_profile_and_server_side_sync, mailboxes)) == [(Status.SKIP, "mailboxes")]


# MBX-002

def test_mbx_002_passes_for_approved_addresses() -> None:
    mailboxes = scope(mailbox(ALICE), mailbox(SALES, regardingobjecttypecode="queue"))
    assert verdicts(judged(mailbox_address_is_approved, mailboxes, ORGANIZATION)) == [(Status.PASS, ALICE),
                                                                             (Status.PASS, SALES)]


def test_mbx_002_fails_for_a_pending_address() -> None:
    pending = mailbox(BRUNO, emailrouteraccessapproval=2, isemailaddressapprovedbyo365admin=False)
    outcomes = judged(mailbox_address_is_approved, scope(mailbox(ALICE), pending), ORGANIZATION)
    assert verdicts(outcomes) == [(Status.PASS, ALICE), (Status.FAIL, BRUNO)]
    assert "Pending Approval" in outcomes[1].message
    assert outcomes[1].evidence["status"] == "Pending Approval"


def test_mbx_002_fails_for_rejected_and_empty_statuses() -> None:
    outcomes = judged(mailbox_address_is_approved, scope(mailbox(ALICE, emailrouteraccessapproval=3),
                                                      mailbox(BRUNO, emailrouteraccessapproval=0)), ORGANIZATION)
    assert verdicts(outcomes) == [(Status.FAIL, ALICE), (Status.FAIL, BRUNO)]
    assert "Rejected" in outcomes[0].message and "Empty" in outcomes[1].message


def test_mbx_002_warns_when_the_organization_does_not_require_approval_for_users() -> None:
    organization = {**ORGANIZATION, "requireapprovalforuseremail": False}
    [outcome] = judged(mailbox_address_is_approved, scope(mailbox(ALICE, emailrouteraccessapproval=2)), organization)
    assert (outcome.status, outcome.subject) == (Status.WARN, ALICE)


def test_mbx_002_reads_the_queue_setting_for_queue_mailboxes() -> None:
    organization = {**ORGANIZATION, "requireapprovalforqueueemail": False}
    mailboxes = scope(mailbox(SALES, regardingobjecttypecode="queue", emailrouteraccessapproval=2),
                      mailbox(ALICE, emailrouteraccessapproval=2))
    assert verdicts(judged(mailbox_address_is_approved, mailboxes, organization)) == [(Status.WARN, SALES),
                                                                             (Status.FAIL, ALICE)]


def test_mbx_002_skips_listed_addresses_that_match_no_mailbox() -> None:
    mailboxes = scope(mailbox(ALICE), listed=[ALICE, "ghost@contoso.com"], missing=("ghost@contoso.com",))
    assert verdicts(judged(mailbox_address_is_approved, mailboxes, ORGANIZATION)) == [
        (Status.SKIP, "ghost@contoso.com"), (Status.PASS, ALICE)]


def test_mbx_002_warns_once_when_no_mailbox_uses_the_profile() -> None:
    assert verdicts(judged(mailbox_address_is_approved, scope(), ORGANIZATION)) == [(Status.WARN, "mailboxes")]


# MBX-003

def test_mbx_003_passes_for_tested_and_enabled_mailboxes() -> None:
    [outcome] = judged(mailbox_passed_test_and_enable, scope(mailbox(ALICE)))
    assert (outcome.status, outcome.subject) == (Status.PASS, ALICE)
    assert "last tested on 2026-10-27" in outcome.message


def test_mbx_003_fails_for_a_mailbox_never_tested() -> None:
    never = mailbox("farid.haddad@contoso.com", incomingemailstatus=0, outgoingemailstatus=0, actstatus=0,
                    testmailboxaccesscompletedon=None)
    [outcome] = judged(mailbox_passed_test_and_enable, scope(never))
    assert (outcome.status, outcome.subject) == (Status.FAIL, "farid.haddad@contoso.com")
    assert "never tested" in outcome.message


def test_mbx_003_fails_naming_what_failed_and_was_disabled() -> None:
    broken = mailbox("dmitri.ivanov@contoso.com", incomingemailstatus=2, outgoingemailstatus=2, actstatus=2,
                     enabledforincomingemail=False, enabledforoutgoingemail=False, enabledforact=False)
    [outcome] = judged(mailbox_passed_test_and_enable, scope(broken))
    assert outcome.status == Status.FAIL
    assert "failed Test & Enable for incoming email, outgoing email and appointments, contacts and tasks" in \
        outcome.message
    assert "disabled" in outcome.message


def test_mbx_003_fails_when_only_act_failed() -> None:
    [outcome] = judged(mailbox_passed_test_and_enable, scope(mailbox(ALICE, actstatus=2, enabledforact=False)))
    assert outcome.status == Status.FAIL
    assert "failed Test & Enable for appointments, contacts and tasks" in outcome.message


def test_mbx_003_fails_when_disabled_after_a_successful_test() -> None:
    [outcome] = judged(mailbox_passed_test_and_enable, scope(mailbox(ALICE, enabledforoutgoingemail=False)))
    assert outcome.status == Status.FAIL
    assert "disabled for outgoing email" in outcome.message


def test_mbx_003_mentions_a_queued_test() -> None:
    never = mailbox(ALICE, incomingemailstatus=0, outgoingemailstatus=0, actstatus=0,
                    testemailconfigurationscheduled=True)
    [outcome] = judged(mailbox_passed_test_and_enable, scope(never))
    assert outcome.status == Status.FAIL
    assert "a Test & Enable is queued" in outcome.message


def test_mbx_003_skips_listed_addresses_that_match_no_mailbox() -> None:
    mailboxes = scope(listed=["ghost@contoso.com"], missing=("ghost@contoso.com",))
    assert verdicts(judged(mailbox_passed_test_and_enable, mailboxes)) == [(Status.SKIP, "ghost@contoso.com")]


def test_mbx_003_warns_once_when_no_mailbox_uses_the_profile() -> None:
    assert verdicts(judged(mailbox_passed_test_and_enable, scope())) == [(Status.WARN, "mailboxes")]


# MBX-005

def test_mbx_005_passes_for_addresses_in_a_verified_domain() -> None:
    mailboxes = scope(mailbox(ALICE), mailbox("Sales@Contoso.onmicrosoft.com"))
    outcomes = judged(mailbox_domain_is_verified_in_exchange_tenant, mailboxes, DOMAINS)
    assert verdicts(outcomes) == [(Status.PASS, ALICE), (Status.PASS, "Sales@Contoso.onmicrosoft.com")]
    assert "domain contoso.com is a verified domain of tenant B" in outcomes[0].message


def test_mbx_005_fails_for_a_domain_of_another_tenant_with_the_known_cause() -> None:
    foreign = mailbox("ingrid.larsen@fabrikam.com")
    outcomes = judged(mailbox_domain_is_verified_in_exchange_tenant, scope(mailbox(ALICE), foreign), DOMAINS)
    assert verdicts(outcomes) == [(Status.PASS, ALICE), (Status.FAIL, "ingrid.larsen@fabrikam.com")]
    failure = outcomes[1]
    assert "domain fabrikam.com is not a verified domain of tenant B" in failure.message
    assert "contoso.com, contoso.onmicrosoft.com" in failure.message
    entry = lookup("test-enable-no-user-found")
    assert entry is not None and failure.evidence["known_cause"] == entry.key
    assert fix("MBX-005", failure).summary == entry.fix


def test_mbx_005_fails_for_an_unverified_subdomain() -> None:
    [outcome] = judged(mailbox_domain_is_verified_in_exchange_tenant, scope(mailbox("ops@eu.contoso.com")), DOMAINS)
    assert outcome.status == Status.FAIL
    assert "eu.contoso.com is a subdomain of contoso.com" in outcome.message


def test_mbx_005_fails_for_a_domain_that_is_not_verified_and_lists_at_most_ten() -> None:
    many = {"source": "organization", "verified": [f"d{n:02}.example" for n in range(12)]}
    [outcome] = judged(mailbox_domain_is_verified_in_exchange_tenant, scope(mailbox("x@contoso-legacy.com")), many)
    assert outcome.status == Status.FAIL
    assert "d09.example and 2 more" in outcome.message and "d10.example" not in outcome.message
    assert outcome.evidence["verified"] == many["verified"][:10]


def test_mbx_005_fails_for_an_address_without_a_domain() -> None:
    [outcome] = judged(mailbox_domain_is_verified_in_exchange_tenant, scope(mailbox("sales")), DOMAINS)
    assert outcome.status == Status.FAIL
    assert "has no domain" in outcome.message


def test_mbx_005_skips_listed_addresses_that_match_no_mailbox_and_warns_for_none() -> None:
    mailboxes = scope(listed=["ghost@contoso.com"], missing=("ghost@contoso.com",))
    assert verdicts(judged(mailbox_domain_is_verified_in_exchange_tenant, mailboxes, DOMAINS)) == [
        (Status.SKIP, "ghost@contoso.com")]
    assert verdicts(judged(mailbox_domain_is_verified_in_exchange_tenant, scope(), DOMAINS)) == [
        (Status.WARN, "mailboxes")]
