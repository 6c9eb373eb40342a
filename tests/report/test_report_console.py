"""The console report: layout, tags, remediation, collapse of many passes, quiet mode, colour."""

from __future__ import annotations

import io

from report_samples import CLIENT, TENANT_A, TENANT_B, brief_passes, finding, make_run, sample_findings

from checks.model import Attestation, Finding, Remediation, Status
from checks.report.common import looks_like_shell
from checks.report.console import render_console


def render(findings: list[Finding], *, color: bool = False, quiet: bool = False, verbose: bool = False,
           **run: object) -> str:
    stream = io.StringIO()
    render_console(findings, make_run(**run), stream, color=color, quiet=quiet, verbose=verbose)
    return stream.getvalue()


def line_of(text: str, fragment: str) -> int:
    return next(i for i, line in enumerate(text.splitlines()) if fragment in line)


def test_header_names_environment_tenants_app_and_profile() -> None:
    head = "\n".join(render(sample_findings()).splitlines()[:6])
    assert "https://contoso.crm4.dynamics.com" in head
    assert f"{TENANT_A} (Dynamics, tenant A) → {TENANT_B}" in head
    assert CLIENT in head
    assert "Exchange Online cross-tenant" in head


def test_groups_follow_the_area_order_and_unknown_areas_come_last() -> None:
    extra = [finding("GRA-001", Status.PASS, "tenant B"), finding("AAA-001", Status.PASS, "x")]
    text = render([*sample_findings(), *extra])
    headings = ["App registration", "Exchange Online tenant", "Microsoft Graph", "Email server profile", "Mailboxes",
                "AAA", "ZZZ"]
    positions = [text.splitlines().index(heading) for heading in headings]
    assert positions == sorted(positions)


def test_one_line_per_finding_with_tag_id_subject_and_message() -> None:
    text = render(sample_findings())
    lines = text.splitlines()
    assert f"  PASS APP-001  app {CLIENT} — the app exists in its home tenant" in lines
    assert "  FAIL MBX-001  bob@contoso.com — bob@contoso.com uses another profile" in lines
    assert f"  ERR  EXO-002  app {CLIENT} — could not read appRoleAssignments: HTTP 403" in lines
    assert any(line.startswith("  WARN APP-004") for line in lines)
    assert any(line.startswith("  SKIP PRF-002") for line in lines)


def test_findings_are_sorted_by_check_id_and_subject_within_an_area() -> None:
    text = render(sample_findings())
    assert line_of(text, "FAIL MBX-001  bob@") < line_of(text, "PASS MBX-001  carol@")
    assert line_of(text, "APP-001") < line_of(text, "APP-004")


def test_remediation_is_printed_under_what_is_not_a_pass() -> None:
    lines = render(sample_findings()).splitlines()
    at = line_of("\n".join(lines), "WARN APP-004")
    block = lines[at + 1:at + 8]
    assert block[0] == "       fix: Add a new client secret to the app and put it on the email server profile."
    assert block[1:4] == ["         1. Open the app registration in tenant A.", "         2. Add a client secret.",
                          "         3. Update the profile's secret."]
    assert block[4] == f"         $ az ad app credential reset --id {CLIENT} --append"
    assert block[5] == "         Entra admin center > App registrations > Certificates & secrets"  # not a shell command
    assert block[6].startswith("         see https://learn.microsoft.com/")


def test_passes_carry_no_remediation() -> None:
    fixed = finding("APP-001", Status.PASS, "app", remediation=Remediation("never shown"))
    assert "never shown" not in render([fixed])


def test_skip_names_what_blocks_it() -> None:
    lines = render(sample_findings()).splitlines()
    at = line_of("\n".join(lines), "SKIP PRF-002")
    assert lines[at + 1] == "       blocked by PRF-001"


def test_commands_get_a_prompt_only_when_they_are_shell_commands() -> None:
    assert looks_like_shell("az ad sp show --id 1")
    assert looks_like_shell("Connect-MgGraph -TenantId 2")
    assert not looks_like_shell("https://login.microsoftonline.com/x/adminconsent?client_id=y")
    assert not looks_like_shell("Power Platform admin center > Environments > Settings")
    assert not looks_like_shell("$ az already prompted")


def many_passes(count: int) -> list[Finding]:
    return [finding("MBX-003", Status.PASS, f"user{i:04}@contoso.com") for i in range(count)]


def test_more_than_ten_passes_of_one_check_collapse_into_one_line() -> None:
    failing = finding("MBX-003", Status.FAIL, "zed@contoso.com", "Test & Enable failed")
    text = render([*many_passes(812), failing])
    assert "  PASS MBX-003  812 passing — title of MBX-003 (--verbose lists each)" in text.splitlines()
    assert "user0000@contoso.com" not in text
    assert "FAIL MBX-003  zed@contoso.com" in text  # what is not a pass is never collapsed


def test_passes_over_mailbox_rows_collapse_and_verbose_writes_each_out() -> None:
    addresses = [f"user{i:04}@contoso.com" for i in range(812)]
    failing = finding("MBX-003", Status.FAIL, "user0005@contoso.com", "Test & Enable failed")
    text = render([*brief_passes("MBX-003", *addresses), failing])
    assert "  PASS MBX-003  812 passing — title of MBX-003 (--verbose lists each)" in text.splitlines()
    assert "user0000@contoso.com" not in text
    verbose = render([*brief_passes("MBX-003", *addresses[:3]), failing], verbose=True).splitlines()
    listed = [line for line in verbose if line.startswith(("  PASS", "  FAIL"))]
    assert listed == ["  PASS MBX-003  user0000@contoso.com — user0000@contoso.com is approved",
                      "  PASS MBX-003  user0001@contoso.com — user0001@contoso.com is approved",
                      "  PASS MBX-003  user0002@contoso.com — user0002@contoso.com is approved",
                      "  FAIL MBX-003  user0005@contoso.com — Test & Enable failed"]


def test_ten_passes_are_listed() -> None:
    text = render(many_passes(10))
    assert text.count("PASS MBX-003  user") == 10
    assert "passing" not in text


def test_verbose_lists_every_pass() -> None:
    text = render(many_passes(11), verbose=True)
    assert text.count("PASS MBX-003  user") == 11
    assert "passing" not in text


def test_quiet_shows_only_what_is_not_a_pass_and_the_summary() -> None:
    text = render(sample_findings(), quiet=True)
    lines = text.splitlines()
    assert not any(line.startswith("  PASS") for line in lines)
    assert "App registration" not in lines
    assert "Completeness" not in lines
    assert "read-only" not in text
    assert "fix: Point the mailbox at the profile." in text
    assert "blocked by PRF-001" in text
    assert text.splitlines()[-2:] == ["FAIL — 6 pass, 3 fail, 1 warn, 1 error, 1 skip",
                                      "exit 1: 3 findings fail at any severity"]


def test_quiet_with_everything_passing_prints_the_summary_only() -> None:
    assert render(many_passes(3), quiet=True) == ("PASS — 3 pass, 0 fail, 0 warn, 0 error, 0 skip\n"
                                                  "exit 0: nothing fails at any severity\n")


def test_summary_line_has_the_verdict_and_every_count_and_the_last_line_says_why_it_exits_so() -> None:
    assert render(sample_findings()).splitlines()[-2] == "FAIL — 6 pass, 3 fail, 1 warn, 1 error, 1 skip"
    errors_only = [finding("EXO-002", Status.ERROR, "app"), finding("APP-001", Status.PASS, "app")]
    assert render(errors_only).splitlines()[-2:] == [
        "ERROR — 1 pass, 0 fail, 0 warn, 1 error, 0 skip",
        "exit 3: xtcheck could not decide 1 finding at any severity, and none failed"]


def test_completeness_and_attestation_are_reported() -> None:
    text = render(sample_findings())
    assert "  checked 3 of 3 active mailboxes on profile Exchange Online cross-tenant, all pages read" in text
    assert "read-only: 14 requests (GET 12, POST 2), 0 writes attempted" in text
    assert "reader tokens carried (1): Application.Read.All, Domain.Read.All" in text
    assert "warning" not in text


def test_write_roles_on_a_reader_token_are_called_out() -> None:
    attestation = Attestation({"GET graph.microsoft.com": 1}, 1, {"reader": ("Application.ReadWrite.All",)})
    text = render(sample_findings(), attestation=attestation)
    assert "1 writes attempted (refused before leaving the process)" in text
    assert "warning: the reader tokens carry write permissions (Application.ReadWrite.All)" in text


def test_no_colour_unless_asked() -> None:
    assert "\x1b" not in render(sample_findings(), color=False)
    assert "\x1b" not in render(sample_findings(), color=False, quiet=True, verbose=True)


def test_colour_marks_each_status() -> None:
    text = render(sample_findings(), color=True)
    for code, tag in (("31", "FAIL"), ("33", "WARN"), ("35", "ERR "), ("32", "PASS"), ("2", "SKIP")):
        assert f"\x1b[{code}m{tag}\x1b[0m" in text


def test_long_messages_are_neither_wrapped_nor_truncated() -> None:
    message = "word " * 80
    assert f"— {message.strip()}" in render([finding("APP-001", Status.FAIL, "app", message.strip())])


def test_a_stream_that_cannot_encode_dashes_gets_ascii() -> None:
    raw = io.BytesIO()
    stream = io.TextIOWrapper(raw, encoding="ascii")
    render_console(sample_findings(), make_run(), stream, color=False, quiet=False)
    stream.flush()
    assert raw.getvalue().decode("ascii").splitlines()[-2] == "FAIL - 6 pass, 3 fail, 1 warn, 1 error, 1 skip"
