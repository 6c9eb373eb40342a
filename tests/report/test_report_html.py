"""The HTML report: well-formed, self-contained, escaped, deterministic; the chain's boxes follow their checks."""

from __future__ import annotations

import dataclasses
import io
import random
import re
from html.parser import HTMLParser
from xml.etree import ElementTree

import pytest
from report_samples import CLIENT, SECRET_FIX, TENANT_A, TENANT_B, brief_passes, finding, make_run, sample_findings

from checks.findings import fingerprint
from checks.model import Attestation, BriefPass, Finding, Remediation, Status, UnusedWaiver, WaiverNote
from checks.report import REPORTERS
from checks.report.html import render_html

XSS = "<img src=x onerror=alert(1)>"
SCRIPT = "<script>alert(1)</script>"
NODES = ["node-profile", "node-app", "node-consent", "node-exchange", "node-mailboxes"]
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


def render(findings: list[Finding], **run: object) -> str:
    stream = io.StringIO()
    render_html(findings, make_run(**run), stream)
    return stream.getvalue()


def tree(text: str) -> ElementTree.Element:
    """The page as XML: the template keeps its markup well-formed so this parse is strict."""
    return ElementTree.fromstring(text)


def by_id(root: ElementTree.Element, element_id: str) -> ElementTree.Element:
    found = [e for e in root.iter() if e.get("id") == element_id]
    assert len(found) == 1, f"{len(found)} elements with id {element_id}"
    return found[0]


def text_of(element: ElementTree.Element) -> str:
    return " ".join(" ".join(element.itertext()).split())


def classes(element: ElementTree.Element) -> set[str]:
    return set((element.get("class") or "").split())


def node_status(root: ElementTree.Element, node: str) -> str:
    (status,) = [c.removeprefix("node-") for c in classes(by_id(root, node)) if c.startswith("node-")]
    return status


def node_links(root: ElementTree.Element) -> dict[str, str]:
    """Node id -> the href of the <a> around it in the SVG."""
    return {child.get("id", ""): a.get("href", "") for a in root.iter("a") for child in a if child.tag == "g"}


class Balance(HTMLParser):
    """Walks the page like a browser's tokenizer would and records every mismatched or unclosed tag."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.problems: list[str] = []
        self.attributes: list[tuple[str, str, str]] = []  # (tag, name, value) of every attribute
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attributes.extend((tag, name, value or "") for name, value in attrs)
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attributes.extend((tag, name, value or "") for name, value in attrs)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.problems.append(f"</{tag}> closes <{self.stack[-1] if self.stack else ''}>")
            return
        self.stack.pop()


def walk(text: str) -> Balance:
    parser = Balance()
    parser.feed(text)
    parser.close()
    return parser


def test_the_page_is_balanced_html_and_well_formed_xml() -> None:
    text = render(sample_findings())
    assert text.startswith("<!DOCTYPE html>\n<html lang=\"en\">")
    parsed = walk(text)
    assert parsed.problems == []
    assert parsed.stack == []
    for tag in ("html", "head", "body", "main", "svg", "section", "article", "dl", "ol", "table"):
        assert tag in parsed.tags
    root = tree(text)
    assert root.tag == "html"


def test_the_chain_has_five_nodes_in_order_each_with_a_title() -> None:
    root = tree(render(sample_findings()))
    (svg,) = root.iter("svg")
    nodes = [g.get("id") for g in svg.iter("g") if "node" in classes(g)]
    assert nodes == NODES
    for node in NODES:
        title = by_id(root, node).find("title")
        assert title is not None and text_of(title)


def test_each_node_takes_the_worst_status_of_the_checks_that_guard_it() -> None:
    root = tree(render(sample_findings()))
    assert node_status(root, "node-profile") == "fail"  # PRF-001 fail, PRF-002 skip
    assert node_status(root, "node-app") == "warn"  # APP-001 pass, APP-004 warn
    assert node_status(root, "node-consent") == "fail"  # EXO-001 fail beats EXO-002 error
    assert node_status(root, "node-exchange") == "none"  # neither EXO-004 nor EWS-001 ran
    assert node_status(root, "node-mailboxes") == "fail"  # MBX-001 fail and pass
    assert "NOT CHECKED" in text_of(by_id(root, "node-exchange"))


@pytest.mark.parametrize(("findings", "node", "status"), [
    ([finding("GRA-001", Status.ERROR, "app"), finding("EXO-001", Status.PASS, "app")], "node-consent", "error"),
    ([finding("EXO-003", Status.WARN, "app"), finding("EXO-002", Status.SKIP, "app")], "node-consent", "warn"),
    ([finding("EXO-004", Status.PASS, "tenant B"), finding("EWS-001", Status.SKIP, "EWS")], "node-exchange", "skip"),
    ([finding("EXO-004", Status.PASS, "tenant B"), finding("EXO-001", Status.FAIL, "app")], "node-exchange", "pass"),
    ([finding("EWS-001", Status.FAIL, "EWS")], "node-consent", "none"),
    ([finding("MBX-003", Status.PASS, f"u{n}@contoso.com") for n in range(3)], "node-mailboxes", "pass"),
    ([finding("PRF-005", Status.FAIL, "profile", waiver=WaiverNote("known", "ops", "2099-01-01", "applied"))],
     "node-profile", "waived"),
    ([finding("PRF-005", Status.FAIL, "profile", waiver=WaiverNote("known", "ops", "2000-01-01", "expired"))],
     "node-profile", "fail"),
])
def test_node_colour_follows_its_own_checks_only(findings: list[Finding], node: str, status: str) -> None:
    assert node_status(tree(render(findings)), node) == status


def test_nodes_link_to_the_check_to_fix_first_or_to_their_area() -> None:
    root = tree(render([*sample_findings(), finding("EXO-004", Status.PASS, "tenant B")]))
    assert node_links(root) == {
        "node-profile": "#check-PRF-001", "node-app": "#check-APP-004", "node-consent": "#check-EXO-001",
        "node-exchange": "#area-EXO", "node-mailboxes": "#check-MBX-001",
    }


def test_every_internal_link_has_its_target() -> None:
    text = render(sample_findings())
    ids = {value for _, name, value in walk(text).attributes if name == "id"}
    targets = {value[1:] for _, name, value in walk(text).attributes if name == "href" and value.startswith("#")}
    assert targets and targets <= ids
    assert {"area-APP", "area-EXO", "area-PRF", "area-MBX", "area-ZZZ"} <= ids


def test_every_check_has_an_anchor_and_every_finding_an_id() -> None:
    findings = sample_findings()
    root = tree(render(findings))
    for check_id in {f.check_id for f in findings}:
        assert check_id in text_of(by_id(root, f"check-{check_id}"))
    assert "bob@contoso.com" in text_of(by_id(root, "finding-MBX-001-1"))  # ids count in report order
    assert "carol@contoso.com" in text_of(by_id(root, "finding-MBX-001-2"))
    ids = [e.get("id") for e in root.iter("article")]
    whole = [f for f in findings if type(f) is not BriefPass]  # passing mailboxes are listed, not articles
    assert len(ids) == len(whole) == len(set(ids))


def test_areas_follow_the_console_order_and_headings() -> None:
    extra = [finding("GRA-001", Status.PASS, "tenant B"), finding("EWS-001", Status.PASS, "EWS")]
    root = tree(render([*sample_findings(), *extra]))
    sections = [e for e in root.iter("section") if "area" in classes(e)]
    assert [e.get("id") for e in sections] == ["area-APP", "area-EXO", "area-GRA", "area-EWS", "area-PRF",
                                               "area-MBX", "area-ZZZ"]
    headings = [text_of(s.find("h2")) for s in sections]  # type: ignore[arg-type]
    assert headings[:3] == ["App registration APP", "Exchange Online tenant EXO", "Microsoft Graph GRA"]
    assert headings[-1] == "ZZZ"


def test_verdict_and_counts_per_status() -> None:
    root = tree(render(sample_findings()))
    verdict = next(e for e in root.iter("section") if "verdict" in classes(e))
    assert "verdict-fail" in classes(verdict)
    assert "FAIL" in text_of(verdict)
    counts = {text_of(li).split()[1]: int(text_of(li).split()[0]) for li in verdict.iter("li")}
    assert counts == {"pass": 6, "fail": 3, "warn": 1, "error": 1, "skip": 1}


@pytest.mark.parametrize(("statuses", "word"), [
    ([Status.PASS, Status.SKIP], "PASS"), ([Status.WARN, Status.PASS], "WARN"),
    ([Status.ERROR, Status.WARN], "ERROR"), ([Status.ERROR, Status.FAIL], "FAIL"),
])
def test_the_verdict_word_is_the_runs_status(statuses: list[Status], word: str) -> None:
    findings = [finding(f"APP-00{n}", status, "app") for n, status in enumerate(statuses, start=1)]
    root = tree(render(findings))
    verdict = next(e for e in root.iter("section") if "verdict" in classes(e))
    assert text_of(verdict).startswith(f"Verdict {word} ")
    assert f"xtcheck {word}" in text_of(root.find("head/title"))  # type: ignore[arg-type]


def test_a_waived_finding_shows_its_real_status_and_leaves_the_gate() -> None:
    waiver = WaiverNote("accepted until the migration", "ops@contoso.com", "2026-12-31", "applied")
    findings = [finding("MBX-001", Status.FAIL, "bob@contoso.com", waiver=waiver),
                finding("MBX-002", Status.PASS, "bob@contoso.com")]
    root = tree(render(findings))
    verdict = next(e for e in root.iter("section") if "verdict" in classes(e))
    assert "PASS" in text_of(verdict)
    assert "1 fail 0 warn 0 error 0 skip 1 waived" in text_of(verdict)  # real statuses, as the console counts
    card = text_of(by_id(root, "finding-MBX-001-1"))
    assert "WAIVED FAIL bob@contoso.com" in card
    assert "waived (real: FAIL): accepted until the migration — ops@contoso.com, until 2026-12-31" in card
    assert node_status(root, "node-mailboxes") == "pass"  # MBX-001 is out of the gate; MBX-002 passes


@pytest.mark.parametrize(("state", "words"), [("expired", "waiver expired on 2026-01-01, so this counts again"),
                                              ("lapsed", "waiver lapsed, so this counts again")])
def test_an_expired_or_lapsed_waiver_is_shown_and_the_finding_counts(state: str, words: str) -> None:
    waiver = WaiverNote("old reason", "ops", "2026-01-01", state)
    root = tree(render([finding("MBX-001", Status.FAIL, "bob@contoso.com", waiver=waiver)]))
    verdict = next(e for e in root.iter("section") if "verdict" in classes(e))
    assert "FAIL" in text_of(verdict) and "waived" not in text_of(verdict)
    card = text_of(by_id(root, "finding-MBX-001-1"))
    assert words in card and "old reason" in card
    assert "WAIVED" not in card


def test_waivers_that_matched_nothing_are_listed() -> None:
    unused = (UnusedWaiver(0, "APP-004", f"app {CLIENT}", "ops@contoso.com", "2026-12-31"),)
    root = tree(render(sample_findings(), unused_waivers=unused))
    section = text_of(by_id(root, "unused-waivers"))
    assert f"unused waiver waivers[0]: APP-004 app {CLIENT} (ops@contoso.com, until 2026-12-31)" in section
    assert "unused-waivers" not in render(sample_findings())


def test_what_is_not_a_pass_shows_the_fingerprint_a_waiver_names() -> None:
    findings = sample_findings()
    root = tree(render(findings))
    bob = next(f for f in findings if f.subject == "bob@contoso.com")
    assert fingerprint(bob) in text_of(by_id(root, "finding-MBX-001-1"))
    assert "fingerprint" not in text_of(by_id(root, "finding-MBX-001-2"))  # carol passes


def test_remediation_has_summary_steps_commands_and_links() -> None:
    root = tree(render(sample_findings()))
    card = by_id(root, "finding-APP-004-1")
    fix = next(e for e in card.iter("div") if "fix" in classes(e))
    assert SECRET_FIX.summary in text_of(fix)
    (steps,) = fix.iter("ol")
    assert [text_of(li) for li in steps] == list(SECRET_FIX.steps)
    commands = list(fix.iter("pre"))
    assert [text_of(c) for c in commands] == list(SECRET_FIX.commands)
    assert [c.find("code") is not None for c in commands] == [True, True]
    assert "command-shell" in classes(commands[0]) and "command-shell" not in classes(commands[1])
    assert [a.get("href") for a in fix.iter("a")] == list(SECRET_FIX.links)


def test_an_address_as_a_command_becomes_a_link() -> None:
    root = tree(render(sample_findings()))
    hrefs = [a.get("href") for a in by_id(root, "finding-EXO-001-1").iter("a")]
    assert hrefs == [f"https://login.microsoftonline.com/{TENANT_B}/adminconsent?client_id={CLIENT}"]


def test_passes_carry_no_remediation_and_keep_evidence_folded() -> None:
    fixed = finding("APP-001", Status.PASS, "app", remediation=Remediation("never shown"), evidence={"k": "v"})
    text = render([fixed])
    assert "never shown" not in text
    card = by_id(tree(text), "finding-APP-001-1")
    assert [e.tag for e in card] == ["details"]


def test_evidence_is_a_definition_list_with_nested_values_as_json() -> None:
    evidence = {"missing": ["Mail.Send", "Tasks.ReadWrite.All"], "days": 12, "profile": "Other",
                "grant": {"role": "full_access_as_app"}}
    root = tree(render([finding("GRA-001", Status.FAIL, "app", evidence=evidence)]))
    (dl,) = by_id(root, "finding-GRA-001-1").iter("dl")
    rows = dict(zip([text_of(dt) for dt in dl.iter("dt")], [dd for dd in dl.iter("dd")], strict=True))
    assert list(rows) == ["days", "grant", "missing", "profile"]
    assert text_of(rows["days"]) == "12"
    assert text_of(rows["grant"]) == '{"role":"full_access_as_app"}'
    assert "".join(rows["missing"].itertext()) == '"Mail.Send"\n"Tasks.ReadWrite.All"'
    assert rows["missing"].find("pre") is not None
    assert text_of(rows["profile"]) == "Other"


def test_a_skip_links_to_the_finding_that_blocks_it() -> None:
    root = tree(render(sample_findings()))
    card = by_id(root, "finding-PRF-002-1")
    (link,) = card.iter("a")
    assert link.get("href") == "#finding-PRF-001-1"
    assert text_of(link) == "PRF-001"
    assert "the profile is inactive" in text_of(by_id(root, "finding-PRF-001-1"))


def test_blocked_by_a_check_that_is_not_in_the_report_is_plain_text() -> None:
    root = tree(render([finding("PRF-002", Status.SKIP, "profile", blocked_by="PRF-001")]))
    card = by_id(root, "finding-PRF-002-1")
    assert list(card.iter("a")) == []
    assert "Blocked by PRF-001" in text_of(card)


def test_more_than_ten_passes_of_one_check_fold_into_details() -> None:
    many = [finding("MBX-001", Status.PASS, f"user{n:02d}@contoso.com") for n in range(11)]
    failing = finding("MBX-001", Status.FAIL, "zed@contoso.com")
    root = tree(render([*many, failing]))
    check = by_id(root, "check-MBX-001")
    (folded,) = [e for e in check.iter("details") if "passes" in classes(e)]
    assert text_of(folded.find("summary")).startswith("11 passing")  # type: ignore[arg-type]
    assert len(list(folded.iter("article"))) == 11
    assert [a.get("id") for a in check if a.tag == "article"] == ["finding-MBX-001-12"]  # the fail, outside


def test_ten_passes_stay_listed() -> None:
    many = [finding("MBX-001", Status.PASS, f"user{n:02d}@contoso.com") for n in range(10)]
    root = tree(render(many))
    assert [e for e in root.iter("details") if "passes" in classes(e)] == []


def test_header_names_tool_run_environment_tenants_app_profile_and_cloud() -> None:
    names = {"dynamics_tenant": "Contoso", "exchange_tenant": "Fabrikam", "environment": "Contoso Sales",
             "app": "Sync app"}
    root = tree(render(sample_findings(), names=names))
    header = text_of(next(e for e in root.iter("header") if "masthead" in classes(e)))
    for expected in ("xtcheck 0.1.0", "2026-03-01T10:00:00Z → 2026-03-01T10:00:04Z", "Contoso Sales",
                     "https://contoso.crm4.dynamics.com", f"Contoso · {TENANT_A}", f"Fabrikam · {TENANT_B}",
                     f"Sync app · {CLIENT}", "Exchange Online cross-tenant", "public"):
        assert expected in header


def test_missing_names_leave_the_ids_alone() -> None:
    root = tree(render(sample_findings(), names={}, client_id="", profile=""))
    header = text_of(next(e for e in root.iter("header") if "masthead" in classes(e)))
    assert f"Tenant A (Dynamics) {TENANT_A} " in header
    assert "taken from the profile" in header and "auto-detected" in header


def test_completeness_and_attestation() -> None:
    root = tree(render(sample_findings()))
    assert "checked 3 of 3 active mailboxes" in text_of(by_id(root, "completeness"))
    attestation = text_of(by_id(root, "attestation"))
    assert "14 requests (GET 12, POST 2), 0 writes attempted" in attestation
    assert "POST login.microsoftonline.com 2" in attestation
    assert "Application.Read.All" in attestation
    assert "write permissions" not in attestation


def test_write_capable_roles_and_attempted_writes_are_flagged() -> None:
    attestation = Attestation({"GET graph.microsoft.com": 3}, 2, {"reader in B for EXO": ("full_access_as_app",),
                                                                  "reader in B for Graph": ("Mail.ReadWrite",)})
    root = tree(render(sample_findings(), attestation=attestation))
    section = by_id(root, "attestation")
    (warning,) = [e for e in section.iter("p") if "warning" in classes(e)]
    assert "(Mail.ReadWrite, full_access_as_app)" in text_of(warning)
    assert warning.get("role") == "alert"
    flagged = [text_of(e) for e in section.iter("span") if "role-write" in classes(e)]
    assert flagged == ["full_access_as_app", "Mail.ReadWrite"]  # in token order
    assert "2 writes attempted (refused before leaving the process)" in text_of(section)


def hostile() -> tuple[list[Finding], dict[str, object]]:
    """Tenant data shaped like markup, everywhere a tenant's data reaches the page."""
    fix = Remediation(XSS, steps=(SCRIPT,), commands=(f"Set-Mailbox {XSS}",),
                      links=("javascript:alert(1)", 'https://example.com/"onmouseover="alert(1)'))
    findings = [
        finding("MBX-001", Status.FAIL, XSS, XSS, remediation=fix, evidence={XSS: SCRIPT, "list": [XSS]}),
        finding("MBX-002", Status.PASS, XSS, XSS, evidence={"name": XSS}),
        finding("MBX-003", Status.SKIP, SCRIPT, SCRIPT, blocked_by=XSS),
        finding("PRF-001", Status.WARN, "profile", "waived", waiver=WaiverNote(XSS, SCRIPT, XSS, "applied")),
    ]
    run = {"profile": SCRIPT, "names": {"app": XSS, "environment": SCRIPT, "dynamics_tenant": XSS,
                                        "exchange_tenant": SCRIPT},
           "completeness": (XSS,), "attestation": Attestation({f"GET {XSS}": 1}, 0, {SCRIPT: (XSS,)})}
    return findings, run


def test_tenant_data_is_escaped_everywhere() -> None:
    findings, run = hostile()
    text = render(findings, **run)
    assert "&lt;img src=x onerror=alert(1)&gt;" in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "<img" not in text
    assert "<script" not in text.lower()
    parsed = walk(text)
    assert parsed.problems == [] and parsed.stack == []
    assert "img" not in parsed.tags and "script" not in parsed.tags
    assert [name for _, name, _ in parsed.attributes if name.startswith("on")] == []
    root = tree(text)
    assert XSS in text_of(by_id(root, "finding-MBX-001-1"))  # shown as text, whole


def test_only_web_addresses_become_links() -> None:
    findings, run = hostile()
    hrefs = [value for _, name, value in walk(render(findings, **run)).attributes if name == "href"]
    assert not any(href.lower().startswith("javascript") for href in hrefs)
    assert 'https://example.com/"onmouseover="alert(1)' in hrefs  # the quote stayed inside the attribute


def test_the_page_needs_nothing_from_outside() -> None:
    findings = [*sample_findings(), finding("APP-002", Status.FAIL, "app", remediation=SECRET_FIX)]
    text = render(findings)
    parsed = walk(text)
    assert not {"link", "script", "img", "iframe", "object", "embed"} & set(parsed.tags)
    assert [name for _, name, _ in parsed.attributes if name in ("src", "srcset", "xlink:href")] == []
    remediation = {address for f in findings if f.remediation
                   for address in (*f.remediation.links, *f.remediation.commands)}
    for tag, name, value in parsed.attributes:
        if name == "href" and not value.startswith("#"):
            assert tag == "a" and value in remediation, value
    assert set(re.findall(r"url\(([^)]*)\)", text)) == {"#arrow"}
    assert "@import" not in text


def test_no_checks_still_renders_a_page() -> None:
    root = tree(render([]))
    assert "No checks ran." in text_of(root)
    assert {node_status(root, node) for node in NODES} == {"none"}
    assert node_links(root) == {}  # nothing to point at


def test_same_input_same_bytes_whatever_the_order() -> None:
    findings, run = hostile()
    every = [*sample_findings(), *findings]
    first = render(every, **run)
    assert render(every, **run) == first
    for seed in range(5):
        shuffled = every[:]
        random.Random(seed).shuffle(shuffled)
        copies = [f if type(f) is BriefPass else dataclasses.replace(f) for f in shuffled]  # other objects
        assert render(copies, **run) == first


def test_it_is_the_html_reporter() -> None:
    stream = io.StringIO()
    REPORTERS["html"](sample_findings(), make_run(), stream)
    assert stream.getvalue() == render(sample_findings())


def test_passing_mailboxes_are_counted_under_each_check_and_listed_once_by_the_checks_they_passed() -> None:
    everyone = [f"user{n:03}@contoso.com" for n in range(300)]
    failing = finding("MBX-002", Status.FAIL, "user007@contoso.com", "not approved")
    skipped = finding("MBX-003", Status.SKIP, "user009@contoso.com", "blocked", blocked_by="MBX-002")
    passes = [*brief_passes("MBX-001", *everyone),
              *brief_passes("MBX-002", *(a for a in everyone if a != "user007@contoso.com")),
              *brief_passes("MBX-003", *(a for a in everyone if a != "user009@contoso.com"))]
    root = tree(render([failing, skipped, *passes]))
    assert "300 mailboxes passed this check" in text_of(by_id(root, "check-MBX-001"))
    assert "299 mailboxes passed this check" in text_of(by_id(root, "check-MBX-002"))
    assert len(list(root.iter("article"))) == 2  # the fail and the skip; no element per passing mailbox
    assert text_of(by_id(root, "passing-MBX")).startswith("Passing mailboxes Each is listed once")
    lists = [(text_of(d.find("summary")), (d.findtext("pre") or "").splitlines())  # type: ignore[arg-type]
             for d in by_id(root, "passing-MBX").iter("details")]
    assert lists == [("298 mailboxes passed MBX-001, MBX-002, MBX-003",
                      [a for a in everyone if a not in ("user007@contoso.com", "user009@contoso.com")]),
                     ("1 mailbox passed MBX-001, MBX-002", ["user009@contoso.com"]),
                     ("1 mailbox passed MBX-001, MBX-003", ["user007@contoso.com"])]


def test_ten_thousand_passing_mailboxes_cost_their_addresses_not_their_findings() -> None:
    addresses = [f"user{n:05}@contoso.com" for n in range(10_000)]
    checks = ("MBX-001", "MBX-002", "MBX-003", "MBX-004", "MBX-005")
    small = render([finding("APP-001", Status.PASS, "app")])
    large = render([finding("APP-001", Status.PASS, "app"), *(p for c in checks for p in brief_passes(c, *addresses))])
    assert (len(large.encode()) - len(small.encode())) / len(addresses) < 50  # 5 MB at 100,000 mailboxes
    assert large.count("user00042@contoso.com") == 1


def test_a_hostile_passing_subject_stays_text_in_the_list() -> None:
    root = tree(render(brief_passes("MBX-001", f"{SCRIPT}@contoso.com", "evil\x1b[2J\u202e@contoso.com",
                                    "two\nlines@contoso.com")))
    (block,) = by_id(root, "passing-MBX").iter("pre")
    assert (block.text or "").splitlines() == [f"{SCRIPT}@contoso.com", "evil\\x1b[2J\\u202e@contoso.com",
                                              "two\\nlines@contoso.com"]
