"""The estate's reports by format name, one dispatch for the command: `ESTATE_REPORTERS[name](estate, stream)`
renders one file format (`--output -`), `write_estate_reports` writes the formats asked into the output folder under
the same file names as a single-target run, and `render_estate_console` is the console's (it has options of its own).

| format   | file                  | what it holds                                                              |
|----------|-----------------------|----------------------------------------------------------------------------|
| json     | xtcheck-report.json   | `kind: "estate"`: overview, forecast, unreadable, shard, each target whole |
| junit    | xtcheck-junit.xml     | a suite per target, failures = its gating findings; unreadable as errors   |
| html     | xtcheck-report.html   | overview, unreadable, each target's chain and findings, forecast           |
| markdown | xtcheck-summary.md    | overview, unreadable, forecast (also the GitHub step summary)              |
| sarif    | xtcheck.sarif         | a run per target, as code scanning takes it                                |
| calendar | xtcheck-calendar.ics  | the forecast as iCalendar events                                           |
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TextIO

from ..model import EstateResult
from . import file_formats, write_files
from .calendar import render_calendar
from .estate import EstateReport, as_estate_report
from .estate_console import render_estate_console
from .estate_html import render_estate_html
from .estate_json import render_estate_json
from .estate_junit import render_estate_junit
from .estate_markdown import render_estate_markdown, write_estate_step_summary
from .estate_sarif import render_estate_sarif

EstateReporter = Callable[[EstateResult | EstateReport, TextIO], None]

ESTATE_REPORTERS: dict[str, EstateReporter] = {
    "json": render_estate_json, "junit": render_estate_junit, "html": render_estate_html,
    "markdown": render_estate_markdown, "sarif": render_estate_sarif, "calendar": render_calendar,
}

__all__ = ["ESTATE_REPORTERS", "EstateReporter", "render_estate_console", "write_estate_reports",
           "write_estate_step_summary"]


def write_estate_reports(estate: EstateResult | EstateReport, formats: Iterable[str],
                         output_dir: Path | str) -> list[Path]:
    """Write each file format in `formats` (console skipped) into `output_dir`, each from the same digested estate;
    the paths written, in the order asked. An unknown format is a ConfigError (exit 2) before anything is written;
    a folder that cannot be written is an XtcheckError of one line."""
    wanted = file_formats(formats)
    if not wanted:
        return []
    report = as_estate_report(estate)
    return write_files(wanted, output_dir, lambda name: _bound(ESTATE_REPORTERS[name], report))


def _bound(reporter: EstateReporter, report: EstateReport) -> Callable[[TextIO], None]:
    def render(stream: TextIO) -> None:
        reporter(report, stream)

    return render
