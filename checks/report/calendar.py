"""The forecast as an iCalendar file (RFC 5545), `--format calendar`: an all-day event on each day something
breaks (a client secret's end, the EWS switch-off), naming the targets it breaks, with a reminder two weeks ahead.
Subscribe to it, or import it, and the dates land in the calendar of whoever rotates the secrets.

Names, secret names and hints come from tenants and are hostile until written: every value is TEXT-escaped
(backslash, semicolon, comma, line breaks as `\\n`), control characters are written visibly first, and content
lines are folded at 75 octets without splitting a character, so no value can end a line and start a property or a
component of its own. A UID is stable from run to run for the same secret, so a re-import updates the event."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from typing import TextIO

from ..findings import Digest, as_digest
from ..model import EstateResult, Finding, Run
from ..text import visible
from .estate import EstateReport, as_estate_report, forecast, one_target
from .forecast import Event, moment

CRLF = "\r\n"
LINE_OCTETS = 75  # RFC 5545 3.1: lines longer than this are folded
REMIND_DAYS = 14
_TEXT = str.maketrans({"\\": "\\\\", ";": "\\;", ",": "\\,", "\n": "\\n"})


def render_calendar(estate: EstateResult | EstateReport, stream: TextIO) -> None:
    """Write the estate's forecast as one VCALENDAR (UTF-8 text, CRLF line ends, deterministic for the same input:
    DTSTAMP is the run's start)."""
    report = as_estate_report(estate)
    stamp = _stamp(report.started)
    lines = [*_calendar_head(report.tool_version)]
    for event in forecast(report):
        lines.extend(_event(event, stamp))
    lines.append("END:VCALENDAR")
    stream.write("".join(f"{folded}{CRLF}" for line in lines for folded in fold(line)))


def _calendar_head(version: str) -> list[str]:
    return ["BEGIN:VCALENDAR", "VERSION:2.0", f"PRODID:-//xtcheck//xtcheck {text(version)}//EN",
            "CALSCALE:GREGORIAN", "METHOD:PUBLISH", "X-WR-CALNAME:xtcheck forecast"]


def _event(event: Event, stamp: str) -> list[str]:
    day = event.day
    return ["BEGIN:VEVENT", f"UID:{text(event.uid)}", f"DTSTAMP:{stamp}",
            f"DTSTART;VALUE=DATE:{day:%Y%m%d}", f"DTEND;VALUE=DATE:{day + dt.timedelta(days=1):%Y%m%d}",
            f"SUMMARY:{text(event.summary)}", f"DESCRIPTION:{text(event.description)}",
            f"CATEGORIES:xtcheck,{text(event.kind)}", "TRANSP:TRANSPARENT",
            "BEGIN:VALARM", "ACTION:DISPLAY", f"TRIGGER:-P{REMIND_DAYS}D", f"DESCRIPTION:{text(event.summary)}",
            "END:VALARM", "END:VEVENT"]


def _stamp(started: str) -> str:
    """DTSTAMP in UTC: the run's start (the same file for the same run), or the epoch when it has none."""
    when = moment(started) or dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    return f"{when:%Y%m%dT%H%M%SZ}"


def text(value: str) -> str:
    """A TEXT value (RFC 5545 3.3.11): hidden characters written visibly, then `\\ ; ,` and line breaks escaped."""
    return visible(value.replace("\r\n", "\n").replace("\r", "\n")).translate(_TEXT)


def fold(line: str) -> Iterator[str]:
    """`line` as content lines of at most 75 octets of UTF-8, each after the first led by one space (which a
    reader removes with the line break); a character is never split."""
    chunk: list[str] = []
    size, limit = 0, LINE_OCTETS
    for char in line:
        octets = len(char.encode("utf-8", "surrogatepass"))
        if size + octets > limit:
            yield ("" if limit == LINE_OCTETS else " ") + "".join(chunk)
            chunk, size, limit = [], 0, LINE_OCTETS - 1
        chunk.append(char)
        size += octets
    yield ("" if limit == LINE_OCTETS else " ") + "".join(chunk)


def calendar_lines(document: str) -> Iterable[str]:
    """The content lines of a calendar, unfolded (for tests and readers that want the properties back)."""
    return document.replace(f"{CRLF} ", "").split(CRLF)


def render_target_calendar(findings: Digest | Iterable[Finding], run: Run, stream: TextIO) -> None:
    """The calendar of a single-target audit (`xtcheck audit --format calendar`): its run as an estate of one."""
    render_calendar(one_target(as_digest(findings), run), stream)
