"""Mailbox checks, property-based: a mailbox passed briefly (its message and evidence written only when read) is a
mailbox the whole judgement passes, and every pass is brief. The first half is what keeps the shortcut from ever
being a false pass; the second, that 100,000 healthy mailboxes all take it."""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.configuration import set_hypothesis_home_dir

from checks.findings import Digest, ordered
from checks.model import BriefPass, Outcome, Severity, Status
from checks.probes.dataverse import mailbox_subjects
from checks.rules.mailbox import (
    mailbox_address_is_approved,
    mailbox_domain_is_verified_in_exchange_tenant,
    mailbox_passed_test_and_enable,
    mailbox_uses_profile_and_server_side_sync,
)
from checks.rules.mailbox_sync import mailbox_syncs
from checks.settings import Thresholds

set_hypothesis_home_dir(Path(tempfile.gettempdir()) / "xtcheck-hypothesis")
EXAMPLES = settings(max_examples=300, deadline=None, database=None)
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
PROFILE = "3f6e2d1c-0b9a-4c8d-a7e6-5f4e3d2c1b0a"
IDS = ["6c1d2e3f-4a5b-4c6d-8e7f-000000000001", "6C1D2E3F-4A5B-4C6D-8E7F-000000000002", None, ""]


def moment(hours_ago: float | None) -> str | None:
    return None if hours_ago is None else (NOW - timedelta(hours=hours_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")


odd = st.sampled_from([None, True, False, 0, 1, 2, 3, "1", -1])  # what a column may hold, sensible or not
when = st.one_of(st.none(), st.floats(min_value=0, max_value=24 * 40)).map(moment)
rows = st.fixed_dictionaries({
    "mailboxid": st.sampled_from(IDS),
    "name": st.sampled_from(["Alice", "Bob", None]),
    "emailaddress": st.sampled_from(["alice@contoso.com", "ALICE@Contoso.com", "bob@sub.contoso.com",
                                     "carol@fabrikam.com", "no-at-sign", "", None]),
    "_emailserverprofile_value": st.sampled_from([PROFILE, PROFILE.upper(), "{" + PROFILE + "}", None, "other"]),
    "incomingemaildeliverymethod": odd, "outgoingemaildeliverymethod": odd, "actdeliverymethod": odd,
    "emailrouteraccessapproval": odd, "regardingobjecttypecode": st.sampled_from(["systemuser", "queue", 2020]),
    "incomingemailstatus": odd, "outgoingemailstatus": odd, "actstatus": odd,
    "enabledforincomingemail": odd, "enabledforoutgoingemail": odd, "enabledforact": odd,
    "testemailconfigurationscheduled": odd, "testmailboxaccesscompletedon": when,
    "lastsuccessfulsynccompletedon": when, "lastsyncerroroccurredon": when,
    "lastsyncerrorcode": st.sampled_from([None, 0, -2147220891]), "lastsyncerror": st.sampled_from([None, "", "x"]),
})
alerts = st.lists(st.fixed_dictionaries({
    "_regardingobjectid_value": st.sampled_from(IDS), "level": st.sampled_from([1, 2, 3]),
    "text": st.just("something happened"), "tracecode": st.sampled_from([0, 1]), "createdon": when,
    "modifiedon": when, "errordetails": st.none(), "errortypedisplay": st.none()}), max_size=4)


def check_briefs(outcomes: list[Outcome | BriefPass]) -> None:
    for outcome in outcomes:
        if type(outcome) is BriefPass:
            assert outcome.message and outcome.status is Status.PASS  # reading it runs the whole judgement
        else:
            assert outcome.status is not Status.PASS or outcome.subject == "mailboxes", outcome


@EXAMPLES
@given(st.lists(rows, min_size=1, max_size=4), alerts, st.booleans(), st.integers(1, 72))
def test_a_brief_pass_is_a_pass_and_every_pass_is_brief(mailbox_rows: list[dict[str, Any]],
                                                         alert_rows: list[dict[str, Any]], approval_required: bool,
                                                         stale_hours: int) -> None:
    mailboxes = {"scope": "all", "profile": {"id": PROFILE, "name": "Cross-tenant"}, "rows": mailbox_rows,
                 "missing": []}
    organization = {"requireapprovalforuseremail": approval_required, "requireapprovalforqueueemail": False}
    domains = {"verified": ["contoso.com", "Fabrikam.com"]}
    profile = {"match": {"emailserverprofileid": PROFILE, "name": "Cross-tenant"}}
    subjects = mailbox_subjects(mailboxes)
    for outcomes in (mailbox_uses_profile_and_server_side_sync(mailboxes, subjects),
                     mailbox_address_is_approved(mailboxes, subjects, organization),
                     mailbox_passed_test_and_enable(mailboxes, subjects),
                     mailbox_domain_is_verified_in_exchange_tenant(mailboxes, subjects, domains),
                     mailbox_syncs(mailboxes, subjects, {"rows": alert_rows}, profile,
                                   Thresholds(sync_stale_hours=stale_hours), NOW)):
        check_briefs(list(outcomes))


def _judge(subject: str, row: Any, brief: bool = False) -> Outcome | None:
    return None if brief else Outcome(Status.PASS, subject, f"{subject} passed")


subjects = st.lists(st.text(alphabet="aAbBzZ@.éÉ\n", min_size=1, max_size=6), max_size=30, unique=True)


@EXAMPLES
@given(st.lists(subjects, min_size=1, max_size=4), st.randoms())
def test_a_digest_names_each_checks_passes_in_report_order_and_counts_them_all(
        per_check: list[list[str]], shuffle: Any) -> None:
    """However the passes arrive, each check's subjects come out as `ordered` puts findings (case-insensitive, then
    as written) and every finding is counted once."""
    findings = [BriefPass(subject, _judge, {}).for_check(f"MBX-00{n + 1}", "title", Severity.HIGH)
                for n, group in enumerate(per_check) for subject in group]
    shuffle.shuffle(findings)
    digest = Digest.of(findings)
    assert digest.full == []
    assert digest.counts[Status.PASS] == len(findings) == digest.total
    for check_id, group in digest.passed.items():
        expected = [f.subject for f in ordered(f for f in findings if f.check_id == check_id)]
        assert list(group.subjects) == expected
