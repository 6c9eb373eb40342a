"""The HTML report of an estate: one self-contained page. The overview first (a row per target, worst first, each
linking to its section), the environments that could not be audited with the fix, then each target's section as
the single-target page draws it (its chain picture and its areas, passing mailboxes folded into one list per area,
ids prefixed so 500 targets share one page), the forecast, and the estate's attestation. Streamed: a target's
section is built when the template reaches it, so memory stays that of one target."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, TextIO

from ..model import EstateResult, Status
from .common import unused_waiver_lines
from .estate import (
    EstateReport,
    as_estate_report,
    estate_gate,
    estate_verdict,
    forecast,
    ranked,
    shard_text,
    summary_text,
    unused_waivers,
)
from .estate_markdown import LINK_WORDS
from .html import attestation_view, page, templates


def render_estate_html(estate: EstateResult | EstateReport, stream: TextIO) -> None:
    """Write the estate as one HTML document that needs nothing else: no scripts, no external assets."""
    stream.writelines(templates().get_template("estate.html.j2").generate(estate_page(estate)))


def estate_page(estate: EstateResult | EstateReport) -> dict[str, Any]:
    """Everything the estate template shows, as plain data; the targets' sections as a generator."""
    report = as_estate_report(estate)
    pairs = ranked(report)
    rows = [row for row, _ in pairs]
    return {
        "tool_version": report.tool_version, "started": report.started, "finished": report.finished,
        "shard": shard_text(report.shard), "verdict": estate_verdict(report).value,
        "summary": summary_text(report, rows), "gate": estate_gate(report).reason,
        "rows": [{**vars(row), "status": row.status.value, "link": LINK_WORDS.get(row.broken_link or "", ""),
                  "expiry": row.soonest_expiry.isoformat() if row.soonest_expiry else ""} for row in rows],
        "unreadable": report.unreadable,
        "targets": _sections(pairs),
        "forecast": forecast(report),
        "completeness": report.completeness,
        "unused_waivers": unused_waiver_lines(unused_waivers(report)),
        "attestation": attestation_view(report.attestation),
    }


def _sections(pairs: list[Any]) -> Iterator[dict[str, Any]]:
    """Each target's section, worst first as the overview: the single page's content, its ids prefixed. A target
    with nothing that fails, errs or warns keeps its chain picture and counts but not its findings, which the JSON
    report has: 500 passing targets' thirty findings each made a page a browser took seconds to draw."""
    for row, item in pairs:
        content = page(item.report, item.run)
        if row.status is Status.PASS:
            content = {**content, "areas": [], "chain": [{**node, "href": None} for node in content["chain"]]}
        yield {"row": row, "prefix": f"{row.anchor}-", "gate": item.gate.reason, **content}
