"""The Markdown summary: heading, context, one table row per check, what to fix, waivers, escaping, appending."""

from __future__ import annotations

import io
import random
import re
from pathlib import Path

from report_samples import CLIENT, SECRET_FIX, TENANT_A, TENANT_B, finding, make_run, sample_findings

from checks.model import Finding, Remediation, Status, WaiverNote
from checks.report import REPORTERS
from checks.report.markdown import fence, markdown_summary, render_markdown, write_step_summary

UNESCAPED_PIPE = re.compile(r"(?<!\\)\|")
WAIVER = WaiverNote("accepted until the migration", "ops@contoso.com", "2026-06-30", "applied")


def render(findings: list[Finding], **run: object) -> str:
    stream = io.StringIO()
    render_markdown(findings, make_run(**run), stream)
    return stream.getvalue()


def table_rows(text: str) -> list[str]:
    lines = text.splitlines()
    start = lines.index("| Check | Title | Status | Subjects | Not passing |")
    rows = []
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        rows.append(line)
    return rows


def row_of(text: str, check_id: str) -> str:
    return next(row for row in table_rows(text) if row.startswith(f"| {check_id} |"))


def section(text: str, heading: str) -> str:
    """The text under `heading` up to the next heading of the same or a higher level."""
    level = heading.split(" ", 1)[0]
    lines = text.splitlines()
    start = lines.index(heading)
    end = next((i for i in range(start + 1, len(lines))
                if lines[i].startswith("#") and len(lines[i].split(" ", 1)[0]) <= len(level)), len(lines))
    return "\n".join(lines[start + 1:end])


def fenced_blocks(text: str) -> list[str]:
    """The contents of the fenced code blocks, parsed as CommonMark does for backtick fences at column 0."""
    blocks: list[str] = []
    opening: str | None = None
    body: list[str] = []
    for line in text.splitlines():
        if opening is None:
            match = re.match(r"(`{3,})[^`]*$", line)
            if match:
                opening, body = match.group(1), []
        elif re.fullmatch(rf"`{{{len(opening)},}}\s*", line):
            blocks.append("\n".join(body))
            opening = None
        else:
            body.append(line)
    assert opening is None, "a fence was left open"
    return blocks


def test_markdown_is_the_markdown_reporter() -> None:
    assert REPORTERS["markdown"] is render_markdown


def test_heading_has_the_verdict_and_the_counts() -> None:
    first = render(sample_findings()).splitlines()[0]
    assert first == "## xtcheck: FAIL — 6 pass, 3 fail, 1 warn, 1 error, 1 skip"


def test_context_line_names_environment_tenants_app_and_profile() -> None:
    context = render(sample_findings(), names={"dynamics_tenant": "Contoso"}).split("\n\n")[1]
    assert "\n" not in context
    assert "contoso.crm4.dynamics.com" in context
    assert f"**tenant A** Contoso ({TENANT_A}) → **tenant B** {TENANT_B}" in context
    assert CLIENT in context
    assert "Exchange Online cross-tenant" in context


def test_one_row_per_check_in_area_order_with_the_worst_status_and_the_subject_count() -> None:
    text = render(sample_findings())
    ids = [row.split("|")[1].strip() for row in table_rows(text)]
    assert ids == ["APP-001", "APP-004", "EXO-001", "EXO-002", "PRF-001", "PRF-002", "MBX-001", "MBX-002",
                   "ZZZ-001"]
    assert row_of(text, "MBX-001") == "| MBX-001 | title of MBX-001 | **FAIL** | 3 | bob@contoso.com |"
    assert row_of(text, "MBX-002") == "| MBX-002 | title of MBX-002 | **PASS** | 2 |   |"  # passing mailboxes only
    assert "| **WARN** |" in row_of(text, "APP-004")
    assert "| **ERROR** |" in row_of(text, "EXO-002")
    assert "| **SKIP** |" in row_of(text, "PRF-002")
    assert row_of(text, "APP-001").endswith("| **PASS** | 1 |   |")


def test_the_table_names_a_few_failing_subjects_then_counts_the_rest() -> None:
    many = [finding("MBX-002", Status.FAIL, f"user{n}@contoso.com") for n in range(5)]
    row = row_of(render(many), "MBX-002")
    assert row.endswith("| **FAIL** | 5 | user0@contoso.com, user1@contoso.com, user2@contoso.com and 2 more |")


def test_what_to_fix_lists_every_non_pass_with_its_remediation() -> None:
    text = render(sample_findings())
    fix = section(text, "### What to fix")
    headings = [line for line in fix.splitlines() if line.startswith("#### ")]
    assert headings == [
        f"#### **WARN** APP-004 · app {CLIENT}",
        f"#### **FAIL** EXO-001 · app {CLIENT}",
        f"#### **ERROR** EXO-002 · app {CLIENT}",
        "#### **FAIL** PRF-001 · profile Exchange Online cross-tenant",
        "#### **SKIP** PRF-002 · profile Exchange Online cross-tenant",
        "#### **FAIL** MBX-001 · bob@contoso.com",
    ]
    secret = section(text, f"#### **WARN** APP-004 · app {CLIENT}")
    assert "**Fix:** Add a new client secret to the app and put it on the email server profile." in secret
    steps = "1. Open the app registration in tenant A.\n2. Add a client secret.\n3. Update the profile's secret."
    assert steps in secret
    assert fenced_blocks(secret) == list(SECRET_FIX.commands)
    assert f"- <{SECRET_FIX.links[0]}>" in secret
    assert "Blocked by PRF-001." in section(text, "#### **SKIP** PRF-002 · profile Exchange Online cross-tenant")
    assert "carol@contoso.com" not in fix  # passes are not listed
    assert "something" not in fix


def test_waived_findings_are_listed_apart_and_leave_the_verdict() -> None:
    findings = [finding("MBX-001", Status.PASS, "alice@contoso.com"),
                finding("MBX-002", Status.FAIL, "bob@contoso.com", "pending approval", waiver=WAIVER)]
    text = render(findings)
    assert text.splitlines()[0] == "## xtcheck: PASS — 1 pass, 0 fail, 0 warn, 0 error, 0 skip, 1 waived"
    assert "### What to fix" not in text
    waived = section(text, "### Waived").strip().split("\n\n")[0]
    assert waived == ("- **FAIL** MBX-002 · bob@contoso.com: pending approval — waived by "
                              "ops@contoso.com until 2026-06-30: accepted until the migration")
    assert row_of(text, "MBX-002").startswith("| MBX-002 | title of MBX-002 | **WAIVED** | 1 |")


def test_a_waiver_that_no_longer_applies_keeps_the_finding_in_what_to_fix() -> None:
    expired = WaiverNote("old reason", "ops@contoso.com", "2025-01-31", "expired")
    waived = finding("MBX-002", Status.FAIL, "carol@contoso.com", waiver=WAIVER)
    text = render([finding("MBX-002", Status.FAIL, "bob@contoso.com", "pending approval", waiver=expired), waived])
    assert "### Waived" in text
    entry = section(text, "#### **FAIL** MBX-002 · bob@contoso.com")
    assert "A waiver matched but is expired (owner ops@contoso.com, expiry 2025-01-31): old reason" in entry
    assert "| **FAIL** (1 waived) | 2 | bob@contoso.com |" in row_of(text, "MBX-002")


def test_completeness_and_attestation_close_the_summary_in_two_lines() -> None:
    paragraphs = render(sample_findings()).rstrip("\n").split("\n\n")
    assert paragraphs[-2] == ("**Completeness:** checked 3 of 3 active mailboxes on profile Exchange Online "
                              "cross-tenant, all pages read")
    assert paragraphs[-1].startswith("**Read-only:** 14 requests (GET 12, POST 2), 0 writes attempted; ")


def test_tenant_data_cannot_break_the_table_or_a_fence() -> None:
    tricky = Remediation("Rename ``a|b``.", steps=("Run `Get-Mailbox 'a|b'`.",),
                         commands=("Set-Mailbox -Identity 'a|b' # ``` and ```` inside", "```"))
    findings = [finding("MBX-001", Status.FAIL, "a|b", "mailbox `a|b` has ``` in its\nname | [x](https://evil)",
                        remediation=tricky),
                finding("MBX-001", Status.PASS, "c@contoso.com")]
    text = render(findings)
    for row in table_rows(text):
        assert len(UNESCAPED_PIPE.findall(row)) == 6, row  # five cells
    assert row_of(text, "MBX-001").endswith("| a\\|b |")
    entry = section(text, "#### **FAIL** MBX-001 · a\\|b")
    assert fenced_blocks(entry) == list(tricky.commands)
    message = entry.split("\n\n")[1]
    assert "`" not in message.replace("\\`", "")  # every backtick escaped: no code span opens
    assert "](" not in message.replace("\\](", "")  # no link can form
    assert "\n" not in message


def test_a_message_or_a_step_cannot_start_a_list_a_quote_or_a_rule() -> None:
    steps = Remediation("fix", steps=("> not a quote", "- not a bullet"))
    text = render([finding("PRF-001", Status.FAIL, "profile p", "1. not a list"),
                   finding("PRF-003", Status.FAIL, "profile p", "- not a bullet", remediation=steps),
                   finding("PRF-004", Status.FAIL, "profile p", "---")])
    assert "\n1\\. not a list\n" in text
    assert "\n\\- not a bullet\n" in text
    assert "\n\\---\n" in text
    assert "\n1. \\> not a quote\n2. \\- not a bullet\n" in text


def test_entities_and_html_in_tenant_data_stay_literal() -> None:
    text = render([finding("MBX-001", Status.FAIL, "<img src=x>", "Test & Enable says &amp; <b>bold</b>")])
    assert "\\<img src=x>" in text
    assert "Test & Enable says \\&amp; \\<b>bold\\</b>" in text


def test_fence_is_longer_than_any_backtick_run() -> None:
    assert fence("plain") == "```\nplain\n```"
    assert fence("a ```` b") == "`````\na ```` b\n`````"


def test_output_is_deterministic_for_shuffled_findings() -> None:
    findings = sample_findings()
    shuffled = findings[:]
    random.Random(7).shuffle(shuffled)
    assert render(shuffled) == render(findings)


def test_no_findings_says_so() -> None:
    assert "No checks ran." in render([])


def test_write_step_summary_appends(tmp_path: Path) -> None:
    path = tmp_path / "step_summary.md"
    path.write_text("earlier step output", encoding="utf-8")  # no trailing newline
    run = make_run()
    write_step_summary(sample_findings(), run, path)
    write_step_summary([finding("APP-001", Status.PASS, f"app {CLIENT}")], run, path)
    text = path.read_text(encoding="utf-8")
    assert text.startswith("earlier step output\n\n## xtcheck: FAIL")
    assert text.count("## xtcheck: ") == 2
    assert "\n\n## xtcheck: PASS — 1 pass" in text
    assert "\n\n\n" not in text
    assert text.endswith(markdown_summary([finding("APP-001", Status.PASS, f"app {CLIENT}")], run))


def test_write_step_summary_creates_a_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "summary.md"
    write_step_summary(sample_findings(), make_run(), path)
    assert path.read_text(encoding="utf-8") == markdown_summary(sample_findings(), make_run())
