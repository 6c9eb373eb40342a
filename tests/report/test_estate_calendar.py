"""The calendar (RFC 5545): an all-day event per day something breaks, soonest first, CRLF lines folded at 75 octets,
TEXT escaped so no tenant string can inject a property, stable UIDs; a real consumer (icalendar) reads it back."""

from __future__ import annotations

import io

import icalendar
from estate_samples import HOSTILE, credential, passing, sample_estate, secret, target
from report_samples import make_run, sample_findings

from checks.model import Status
from checks.report import REPORTERS
from checks.report.calendar import calendar_lines, fold, render_calendar, text
from checks.report.forecast import EWS_SWITCH_OFF


def calendar(estate: object = None) -> str:
    stream = io.StringIO()
    render_calendar(estate or sample_estate(), stream)  # type: ignore[arg-type]
    return stream.getvalue()


def test_a_real_consumer_reads_the_events_soonest_first() -> None:
    parsed = icalendar.Calendar.from_ical(calendar())
    events = list(parsed.walk("VEVENT"))
    assert [str(e.get("DTSTART").dt) for e in events] == ["2026-03-20", "2026-06-30", "2027-04-01"]
    assert all(e.get("DTSTART").params.get("VALUE") == "DATE" for e in events)
    assert str(events[2].get("SUMMARY")) == "EWS switched off in Exchange Online: 2 targets not ready"
    assert HOSTILE in str(events[0].get("DESCRIPTION"))  # escaped on the wire, the same text once read


def test_lines_end_in_crlf_and_fold_at_75_octets_without_splitting_a_character() -> None:
    document = calendar(sample_estate(targets=[target("ü" * 60 + ".crm.dynamics.com", "u.crm.dynamics.com", [
        secret(Status.PASS, "app", credential("k", "é" * 80, "2026-09-01T00:00:00Z"))])]))
    assert document.endswith("\r\n") and "\n" not in document.replace("\r\n", "")
    for line in document.split("\r\n"):
        assert len(line.encode("utf-8")) <= 75
    assert any(line.startswith(" ") for line in document.split("\r\n"))
    assert list(fold("a" * 200))[1].startswith(" ") and all(len(part) <= 75 for part in fold("a" * 200))


def test_tenant_strings_cannot_inject_a_property_or_a_component() -> None:
    evil = "x\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nSUMMARY:pwned;a,b\\"
    document = calendar(sample_estate(targets=[target(evil, "e.crm.dynamics.com", [
        secret(Status.PASS, "app", credential("k", evil, "2026-09-01T00:00:00Z"))])]))
    lines = list(calendar_lines(document))
    assert lines.count("BEGIN:VEVENT") == 1 and lines.count("END:VEVENT") == 1
    assert not any(line.startswith("SUMMARY:pwned") for line in lines)
    assert text("a;b,c\\d\ne") == "a\\;b\\,c\\\\d\\ne"
    event = icalendar.Calendar.from_ical(document).walk("VEVENT")[0]
    assert "END:VEVENT" in str(event.get("SUMMARY"))  # kept as text, not as structure


def test_uids_are_stable_and_dtstamp_is_the_runs_start() -> None:
    first, second = calendar(), calendar(sample_estate(unreadable=False))
    uids = [line for line in calendar_lines(first) if line.startswith("UID:")]
    assert uids == [line for line in calendar_lines(second) if line.startswith("UID:")]
    assert len(set(uids)) == 3
    assert "DTSTAMP:20260301T100000Z" in first


def test_a_secret_two_targets_share_is_one_event_naming_both_and_past_ends_are_left_out() -> None:
    events = list(icalendar.Calendar.from_ical(calendar(sample_estate(targets=[passing()]))).walk("VEVENT"))
    assert [str(e.get("DTSTART").dt) for e in events] == ["2026-06-30"]  # the secret that ended in January is gone


def test_a_target_not_ready_for_graph_gets_the_ews_switch_off() -> None:
    document = calendar(sample_estate(targets=[target("t", "t.crm.dynamics.com", [
        secret(Status.PASS, "app"), *[f for f in sample_findings() if f.check_id == "EWS-001"]])]))
    assert EWS_SWITCH_OFF.strftime("DTSTART;VALUE=DATE:%Y%m%d") not in document  # no EWS-001 finding: not said
    from report_samples import finding
    document = calendar(sample_estate(targets=[target("t", "t.crm.dynamics.com", [
        finding("EWS-001", Status.FAIL, "tenant")])]))
    assert EWS_SWITCH_OFF.strftime("DTSTART;VALUE=DATE:%Y%m%d") in document


def test_the_ews_date_is_the_rules_own() -> None:
    from checks.rules.ews import EWS_SHUTDOWN

    assert EWS_SHUTDOWN.date() == EWS_SWITCH_OFF


def test_a_single_target_audit_writes_a_calendar_too() -> None:
    from report_samples import finding

    stream = io.StringIO()
    findings = [finding("APP-004", Status.PASS, "app x", evidence={"credentials": [
        {"keyId": "k", "displayName": "s", "start": None, "end": "2026-08-01T00:00:00Z"}]})]
    REPORTERS["calendar"](findings, make_run(), stream)
    events = list(icalendar.Calendar.from_ical(stream.getvalue()).walk("VEVENT"))
    assert [str(e.get("DTSTART").dt) for e in events] == ["2026-08-01"]
    assert "contoso.crm4.dynamics.com" in str(events[0].get("DESCRIPTION"))
