"""MBX-006 called directly with mailbox rows and tenant B's users as the exchange_recipients probe keeps them."""

from __future__ import annotations

from typing import Any

from rule_samples import fix, judged, verdicts

from checks.model import Status
from checks.probes.tenant import index_by_address
from checks.rules.mailbox_recipient import mailbox_address_belongs_to_a_recipient

PROFILE_ID = "3f6e2d1c-0b9a-4c8d-a7e6-5f4e3d2c1b0a"
ALICE, SALES = "alice.moreau@contoso.com", "sales@contoso.com"
DOMAINS = {"source": "domains", "verified": ["contoso.com", "contoso.onmicrosoft.com"]}


def mailbox(address: str, owner: str = "systemuser") -> dict[str, Any]:
    return {"mailboxid": f"mbx-{address}", "name": address.partition("@")[0], "emailaddress": address,
            "_emailserverprofile_value": PROFILE_ID, "regardingobjecttypecode": owner}


def scope(*rows: dict[str, Any]) -> dict[str, Any]:
    return {"scope": "all", "profile": {"id": PROFILE_ID, "name": "Cross-tenant"}, "rows": list(rows), "pages": 1,
            "missing": []}


def user(address: str, enabled: bool = True, exchange: str | None = "Enabled", *aliases: str) -> dict[str, Any]:
    return {"id": f"user-{address}", "upn": address, "addresses": [address, *aliases], "enabled": enabled,
            "exchange": exchange}


def recipients(*users: dict[str, Any]) -> dict[str, Any]:
    return {"granted": True, "rows": list(users), "pages": 1}


def check(mailboxes: dict[str, Any], found: dict[str, Any]) -> list[Any]:
    index = index_by_address(found.get("rows") or [])  # what the recipient_index probe derives from `found`
    return judged(mailbox_address_belongs_to_a_recipient, mailboxes, found, index, DOMAINS)


def test_mbx_006_passes_for_an_enabled_licensed_user_and_a_queues_shared_mailbox() -> None:
    shared = user(SALES, False, None)
    outcomes = check(scope(mailbox(ALICE), mailbox(SALES, "queue")), recipients(user(ALICE), shared))
    assert verdicts(outcomes) == [(Status.PASS, ALICE), (Status.PASS, SALES)]
    assert outcomes[1].message == (f"mailbox {SALES} (a queue's) belongs to {SALES} in tenant B; a queue's shared "
                                   "mailbox needs no licence and may have sign-in blocked")


def test_mbx_006_passes_on_an_alias_in_any_case() -> None:
    owner = user("amoreau@contoso.onmicrosoft.com", True, "Warning", ALICE.upper().lower())
    assert verdicts(check(scope(mailbox(ALICE.upper())), recipients(owner))) == [(Status.PASS, ALICE.upper())]


def test_mbx_006_fails_for_a_disabled_account_with_the_known_cause() -> None:
    [outcome] = check(scope(mailbox(ALICE)), recipients(user(ALICE, enabled=False)))
    assert (outcome.status, outcome.subject) == (Status.FAIL, ALICE)
    assert outcome.message == (f"mailbox {ALICE} belongs to {ALICE} in tenant B, whose account is disabled, so sync "
                               "stops for it (0x8005E273)")
    assert fix("MBX-006", outcome).steps[0].startswith("Known cause (8005E273")


def test_mbx_006_warns_for_a_user_without_exchange_online() -> None:
    [outcome] = check(scope(mailbox(ALICE)), recipients(user(ALICE, exchange=None)))
    assert (outcome.status, outcome.subject) == (Status.WARN, ALICE)
    assert "no Exchange Online plan in use (none assigned)" in outcome.message and "0x8005E274" in outcome.message


def test_mbx_006_fails_when_no_user_has_the_address() -> None:
    [outcome] = check(scope(mailbox(ALICE)), recipients(user("someone.else@contoso.com")))
    assert (outcome.status, outcome.subject) == (Status.FAIL, ALICE)
    assert outcome.evidence["known_cause"] == "test-enable-no-user-found"


def test_mbx_006_leaves_a_foreign_domain_to_mbx_005() -> None:
    [outcome] = check(scope(mailbox("ingrid@fabrikam.com")), recipients())
    assert outcome.status == Status.SKIP and "see MBX-005" in outcome.message


def test_mbx_006_skips_once_without_the_optional_permission() -> None:
    [outcome] = check(scope(mailbox(ALICE)), {"granted": False, "reason": "403"})
    assert (outcome.status, outcome.subject) == (Status.SKIP, "mailboxes")
    assert "User.Read.All is optional" in outcome.message
