"""MBX-004 called directly with Dataverse-shaped mailbox rows, the profile and tracelog alerts."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from rule_samples import fix, verdicts

from checks.knowledge import lookup
from checks.model import Status
from checks.probes.dataverse import mailbox_subjects
from checks.rules.mailbox_sync import mailbox_syncs
from checks.settings import Thresholds

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
PROFILE_ID = "3f6e2d1c-0b9a-4c8d-a7e6-5f4e3d2c1b0a"
NAME = "Exchange Online cross-tenant (Contoso)"
PROFILE_SUBJECT = f"profile {NAME}"
ALICE, CHLOE, DMITRI = "alice.moreau@contoso.com", "chloe.nguyen@contoso.com", "dmitri.ivanov@contoso.com"
IDS = {ALICE: "6c1d2e3f-4a5b-4c6d-8e7f-000000000001", CHLOE: "6c1d2e3f-4a5b-4c6d-8e7f-000000000003",
       DMITRI: "6c1d2e3f-4a5b-4c6d-8e7f-000000000004"}
PROFILE = {"emailserverprofileid": PROFILE_ID, "name": NAME, "statecode": 0, "lasttestexecutionstatus": 1,
           "lasttestvalidationstatus": 1, "lastauthorizationstatus": 1, "lastteststarttime": "2026-10-27T09:00:00Z",
           "lastcrmmessage": "Test and enable completed successfully."}
CREDENTIALS_401 = ("Email can't be received for the mailbox Chloe Nguyen because the credentials specified in the "
                   "associated email server profile are incorrect or have insufficient permissions to access the "
                   "mailbox. Email Server Error Code: Http server returned 401 Unauthorized exception.")
TEST_FAILED_8005E272 = ("The mailbox Dmitri Ivanov (dmitri.ivanov@contoso.com) failed Test & Enable and has been "
                        "disabled. Error code: 8005E272. Email Server Error Code: Http server returned 401 "
                        "Unauthorized exception.")


def selection(**changes: Any) -> dict[str, Any]:
    return {"mode": "auto", "wanted": None, "match": {**PROFILE, **changes},
            "candidates": [{"id": PROFILE_ID, "name": NAME}]}


def mailbox(address: str, **changes: Any) -> dict[str, Any]:
    """A healthy mailbox row that last synced 12 minutes before NOW, with some columns changed."""
    row = {"mailboxid": IDS[address], "name": address.partition("@")[0], "emailaddress": address,
           "_emailserverprofile_value": PROFILE_ID, "incomingemailstatus": 1, "outgoingemailstatus": 1,
           "actstatus": 1, "enabledforincomingemail": True, "enabledforoutgoingemail": True, "enabledforact": True,
           "lastsuccessfulsynccompletedon": "2026-11-26T11:48:00Z", "lastsyncerror": None, "lastsyncerrorcode": None,
           "lastsyncerroroccurredon": None}
    return {**row, **changes}


def scope(*rows: dict[str, Any]) -> dict[str, Any]:
    return {"scope": "all", "profile": {"id": PROFILE_ID, "name": NAME}, "rows": list(rows), "pages": 1,
            "missing": []}


def alert(regarding: str, text: str, level: int = 3, when: str = "2026-11-26T09:00:00Z",
          code: int = 0) -> dict[str, Any]:
    return {"text": text, "level": level, "tracecode": code, "errordetails": None, "errortypedisplay": None,
            "createdon": when, "modifiedon": when, "_regardingobjectid_value": regarding}


def alerts(*rows: dict[str, Any]) -> dict[str, Any]:
    return {"since": "2026-11-19T12:00:00Z", "rows": list(rows), "pages": 1}


def run(mailboxes: dict[str, Any], found: dict[str, Any] | None = None, thresholds: Thresholds | None = None,
        profile: dict[str, Any] | None = None) -> list[Any]:
    return list(mailbox_syncs(mailboxes, mailbox_subjects(mailboxes), found or alerts(), profile or selection(),
                              thresholds or Thresholds(), NOW))


# MBX-004

def test_mbx_004_passes_on_status_columns_and_alerts_together() -> None:
    [outcome] = run(scope(mailbox(ALICE)))
    assert (outcome.status, outcome.subject) == (Status.PASS, ALICE)
    assert "no error alerts in 7 days and last synced 12 minutes ago" in outcome.message
    assert "alerts" in outcome.message and "status columns" in outcome.message
    assert outcome.evidence["error_alerts"] == 0


def test_mbx_004_passes_ignoring_alerts_about_other_mailboxes_and_older_than_the_lookback() -> None:
    found = alerts(alert(IDS[CHLOE], CREDENTIALS_401), alert(IDS[ALICE], "old", when="2026-11-10T09:00:00Z"))
    assert verdicts(run(scope(mailbox(ALICE)), found)) == [(Status.PASS, ALICE)]


def test_mbx_004_matches_alerts_by_id_in_any_spelling_and_never_by_an_empty_one() -> None:
    found = alerts(alert("{" + IDS[CHLOE].upper() + "} ", CREDENTIALS_401), alert("", "about nothing"))
    outcomes = run(scope(mailbox(ALICE, mailboxid=None), mailbox(CHLOE)), found)
    assert verdicts(outcomes) == [(Status.PASS, ALICE), (Status.FAIL, CHLOE)]
    assert outcomes[1].evidence["error_alerts"] == 1


def test_mbx_004_fails_for_error_alerts_with_the_known_cause() -> None:
    found = alerts(alert(IDS[CHLOE].upper(), CREDENTIALS_401),
                   alert(IDS[CHLOE], "older error", when="2026-11-24T09:00:00Z"))
    outcomes = run(scope(mailbox(ALICE), mailbox(CHLOE, lastsuccessfulsynccompletedon="2026-11-23T12:00:00Z")), found)
    assert verdicts(outcomes) == [(Status.PASS, ALICE), (Status.FAIL, CHLOE)]
    chloe = outcomes[1]
    assert "has 2 error alerts in the last 7 days and last synced 3 days ago" in chloe.message
    assert "the latest (2026-11-26): Email can't be received" in chloe.message
    assert chloe.evidence["known_cause"] == "profile-credentials-incorrect"
    assert chloe.evidence["latest_alert"] == CREDENTIALS_401[:300]
    entry = lookup("profile-credentials-incorrect")
    assert entry is not None and fix("MBX-004", chloe).links[0] == entry.link


def test_mbx_004_fails_with_the_cause_named_by_the_alert_tracecode() -> None:
    found = alerts(alert(IDS[DMITRI], TEST_FAILED_8005E272, code=-2147097998))
    disabled = mailbox(DMITRI, enabledforincomingemail=False, enabledforoutgoingemail=False, enabledforact=False,
                       incomingemailstatus=2, outgoingemailstatus=2, actstatus=2)
    [outcome] = run(scope(disabled), found)
    assert (outcome.status, outcome.subject) == (Status.FAIL, DMITRI)
    assert outcome.evidence["known_cause"] == "8005E272"


def test_mbx_004_fails_when_the_last_sync_is_stale_though_no_alert_was_raised() -> None:
    stale = mailbox(ALICE, lastsuccessfulsynccompletedon="2026-11-25T06:00:00Z")
    [outcome] = run(scope(stale))
    assert outcome.status == Status.FAIL
    assert "last synced 30 hours ago, more than the 24 hours allowed" in outcome.message
    assert verdicts(run(scope(stale), thresholds=Thresholds(sync_stale_hours=48))) == [(Status.PASS, ALICE)]


def test_mbx_004_fails_for_a_tested_mailbox_that_never_synced_naming_its_sync_error() -> None:
    never = mailbox(ALICE, lastsuccessfulsynccompletedon=None, lastsyncerrorcode=-2147097998,
                    lastsyncerror="ExchangeServiceException: Http server returned 401 Unauthorized exception.",
                    lastsyncerroroccurredon="2026-11-26T10:00:00Z")
    [outcome] = run(scope(never))
    assert outcome.status == Status.FAIL
    assert "has never synced successfully; its last sync error -2147097998 came 2 hours ago: Exchange" in \
        outcome.message
    assert outcome.evidence["known_cause"] == "8005E272"
    assert fix("MBX-004", outcome).steps[0].startswith("Known cause (8005E272")


def test_mbx_004_warns_for_a_recent_sync_error_after_the_last_sync() -> None:
    erred = mailbox(ALICE, lastsyncerrorcode=-2147097998, lastsyncerror="401",
                    lastsyncerroroccurredon="2026-11-26T11:55:00Z")
    [outcome] = run(scope(erred))
    assert (outcome.status, outcome.subject) == (Status.WARN, ALICE)
    assert "its last sync error -2147097998 came 5 minutes ago, after its last successful sync: 401" in outcome.message
    assert outcome.evidence["known_cause"] == "8005E272"


def test_mbx_004_passes_when_the_last_sync_error_was_followed_by_a_successful_sync() -> None:
    recovered = mailbox(ALICE, lastsyncerrorcode=-2147097998, lastsyncerroroccurredon="2026-11-26T09:00:00Z")
    assert verdicts(run(scope(recovered))) == [(Status.PASS, ALICE)]


def test_mbx_004_warns_for_warning_alerts_only() -> None:
    found = alerts(alert(IDS[ALICE], "The mailbox was temporarily busy.", level=2))
    [outcome] = run(scope(mailbox(ALICE)), found)
    assert outcome.status == Status.WARN
    assert "1 warning alert, the latest (2026-11-26): The mailbox was temporarily busy." in outcome.message


def test_mbx_004_fails_for_the_profile_when_it_has_error_alerts() -> None:
    text = "Mailboxes that use the email server profile failed to synchronize repeatedly in the last hours."
    outcomes = run(scope(mailbox(ALICE)), alerts(alert(PROFILE_ID, text)))
    assert verdicts(outcomes) == [(Status.PASS, ALICE), (Status.FAIL, PROFILE_SUBJECT)]
    assert f"{PROFILE_SUBJECT} has 1 error alert in the last 7 days" in outcomes[1].message


def test_mbx_004_skips_a_mailbox_never_tested_for_mbx_003_to_report() -> None:
    never = mailbox(ALICE, incomingemailstatus=0, outgoingemailstatus=0, actstatus=0,
                    lastsuccessfulsynccompletedon=None)
    [outcome] = run(scope(never))
    assert (outcome.status, outcome.subject) == (Status.SKIP, ALICE)
    assert "see MBX-003" in outcome.message


def test_mbx_004_skips_a_disabled_mailbox_without_alerts() -> None:
    disabled = mailbox(ALICE, enabledforincomingemail=False, enabledforoutgoingemail=False, enabledforact=False,
                       lastsuccessfulsynccompletedon="2026-11-20T12:00:00Z")
    [outcome] = run(scope(disabled))
    assert outcome.status == Status.SKIP
    assert "disabled" in outcome.message and "last synced 6 days ago" in outcome.message


def test_mbx_004_warns_once_when_no_mailbox_uses_the_profile() -> None:
    assert verdicts(run(scope())) == [(Status.WARN, "mailboxes")]
