"""The knowledge base behind `xtcheck explain`: exact lookups, matches in longer texts, suggestions and rendering."""

from __future__ import annotations

import re

import pytest

from checks.knowledge import ENTRIES, Entry, lookup, match, near, render


def keys(entries: list[Entry]) -> list[str]:
    return [entry.key for entry in entries]


def key_of(query: str) -> str | None:
    entry = lookup(query)
    return entry.key if entry is not None else None


# --- one test per family: every code or phrase of the family, written out here, finds its entry -------------------


def test_every_aadsts_code_finds_its_entry() -> None:
    expected = {
        "AADSTS90002": "AADSTS90002",
        "AADSTS90038": "AADSTS90038",
        "AADSTS700016": "AADSTS700016",
        "AADSTS7000229": "AADSTS7000229",
        "AADSTS7000112": "AADSTS7000112",
        "AADSTS7000215": "AADSTS7000215",
        "AADSTS7000222": "AADSTS7000222",
        "AADSTS7000218": "AADSTS7000218",
        "AADSTS700027": "AADSTS700027",
        "AADSTS500011": "AADSTS500011",
        "AADSTS500014": "AADSTS500014",
        "AADSTS65001": "AADSTS65001",
        "AADSTS650051": "AADSTS650051",
        "AADSTS650052": "AADSTS650052",
        "AADSTS650057": "AADSTS650057",
        "AADSTS53003": "AADSTS53003",
        "AADSTS530032": "AADSTS530032",
        "AADSTS530035": "AADSTS530035",
        "AADSTS50034": "AADSTS50034",
        # transient service errors share one entry
        "AADSTS90024": "AADSTS90024",
        "AADSTS90033": "AADSTS90024",
        "AADSTS50000": "AADSTS50000",  # not transient: Microsoft documents configuration causes
        "AADSTS50196": "AADSTS50196",
        "AADSTS90006": "AADSTS90024",
        # /common and /consumers share one entry
        "AADSTS9001023": "AADSTS9001023",
        "AADSTS90124": "AADSTS9001023",
        "AADSTS90130": "AADSTS9001023",
    }
    for query, key in expected.items():
        entry = lookup(query)
        assert entry is not None, query
        assert (entry.key, entry.family) == (key, "aadsts"), query


def test_every_sync_code_finds_its_entry() -> None:
    expected = {
        "8005E272": "8005E272",
        "8005E273": "8005E273",
        "8005E274": "8005E274",
        "MailboxNotEnabledForRESTAPI": "8005E274",
        "8005E276": "8005E276",
        "8005E259": "8005E259",
        "-2147209462": "80042F0A",
        "UnknownIncomingEmailIntegrationError": "80042F0A",
        "-2147220891": "80040265",
        "InvalidIncomingEmailServerProfile": "InvalidIncomingEmailServerProfile",
        "NoUserFoundWithGivenClaims": "NoUserFoundWithGivenClaims",
    }
    for query, key in expected.items():
        entry = lookup(query)
        assert entry is not None, query
        assert (entry.key, entry.family) == (key, "sync-code"), query


def test_every_alert_text_finds_its_entry() -> None:
    expected = {
        "Http server returned 401 Unauthorized exception": "http-401-unauthorized",
        "Http server returned 401": "http-401-unauthorized",
        "Http server returned Forbidden exception": "http-403-forbidden",
        "Test and Enable failed because no user was found with the email address": "test-enable-no-user-found",
        "Email address requires approval by Microsoft 365 administrator": "email-approval-required",
        "Email addresses must be approved": "email-approval-required",
        "the credentials specified in the associated email server profile are incorrect or have insufficient "
        "permissions": "profile-credentials-incorrect",
        "Mailbox location could not be determined": "mailbox-location-unknown",
        "the email address of the mailbox Sales is configured with another organization": "act-other-organization",
        "A failure occurred in CrmSecurity": "crmsecurity-failure",
        "-2147220970": "crmsecurity-failure",
    }
    for query, key in expected.items():
        entry = lookup(query)
        assert entry is not None, query
        assert (entry.key, entry.family) == (key, "alert-text"), query


def test_both_ews_policy_reasons_find_their_entries() -> None:
    expected = {
        "EWS is disabled for this user or tenant": "x-ews-policy-disabled",
        "EWS is blocked by policy for this user or tenant": "x-ews-policy-blocked",
        "X-EWS-Policy-Reason: EWS is blocked by policy for this user or tenant": "x-ews-policy-blocked",
    }
    for query, key in expected.items():
        entry = lookup(query)
        assert entry is not None, query
        assert (entry.key, entry.family) == (key, "ews-policy"), query


def test_the_application_access_policy_denial_finds_its_entry() -> None:
    for query in ("Access to OData is disabled.", '{"error": {"code": "ErrorAccessDenied", '
                  '"message": "Access to OData is disabled."}}'):
        entry = lookup(query)
        assert entry is not None, query
        assert (entry.key, entry.family) == ("graph-odata-disabled", "graph-error")


# --- spelling ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("query", ["AADSTS7000222", "aadsts7000222", "aadsts 7000222", "AADSTS:7000222",
                                   "7000222", "  7000222  ", "AADSTS7000222:"])
def test_aadsts_spellings(query: str) -> None:
    entry = lookup(query)
    assert entry is not None and entry.key == "AADSTS7000222"


@pytest.mark.parametrize("query", ["8005E272", "0x8005E272", "8005e272", "0x8005e272", "-2147097998", "2147869298"])
def test_sync_code_spellings(query: str) -> None:
    entry = lookup(query)
    assert entry is not None and entry.key == "8005E272"


def test_signed_decimals_convert_to_hex() -> None:
    assert [key_of(q) for q in ("-2147097997", "-2147097996", "-2147097994", "-2147098023")] == [
        "8005E273", "8005E274", "8005E276", "8005E259"]


def test_keys_and_titles_are_found_case_insensitively() -> None:
    assert lookup("http-401-unauthorized") == lookup("HTTP-401-UNAUTHORIZED")
    entry = lookup("client secret expired")
    assert entry is not None and entry.key == "AADSTS7000222"
    entry = lookup("invalidincomingemailserverprofile")
    assert entry is not None and entry.key == "InvalidIncomingEmailServerProfile"


def test_unknown_queries_give_none() -> None:
    assert lookup("AADSTS12345678") is None
    assert lookup("8005E2FF") is None
    assert lookup("-2147000000") is None
    assert lookup("the weather is fine") is None
    assert lookup("") is None
    assert lookup("   ") is None


# --- match() on real-looking texts ---------------------------------------------------------------------------------


def test_match_finds_the_code_in_an_msal_error_description() -> None:
    text = ("AADSTS7000222: The provided client secret keys for app '0c1d2e3f-4a5b-6c7d-8e9f-0a1b2c3d4e5f' are "
            "expired. Visit the Azure portal to create new keys for your app: https://aka.ms/NewClientSecret, or "
            "consider using certificate credentials for added security: https://aka.ms/certCreds.\r\n"
            "Trace ID: 8c3f2a10-1b2c-4d5e-8f90-a1b2c3d4e5f6\r\nCorrelation ID: 8d4e5f60-7a8b-4c9d-8e0f-1a2b3c4d5e6f\r\n"
            "Timestamp: 2026-11-26 05:30:12Z")
    assert keys(match(text)) == ["AADSTS7000222"]


def test_match_finds_the_401_alert() -> None:
    text = ("Email cannot be received for the mailbox Anna Weber. Make sure that the credentials specified in the "
            "mailbox are correct and have sufficient permissions for receiving email. Then, enable the mailbox for "
            "email processing.\nEmail Server Error Code: Http server returned 401 Unauthorized exception.")
    assert keys(match(text)) == ["http-401-unauthorized"]


def test_match_orders_two_codes_by_first_occurrence() -> None:
    text = ("Test and Enable failed. Error code 8005E272 (the account in the profile received 401 Unauthorized). "
            "Inner error: AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request "
            "is the client secret value, not the client secret ID.")
    assert keys(match(text)) == ["8005E272", "AADSTS7000215"]
    swapped = "AADSTS7000215: Invalid client secret provided. Then Test & Enable failed with 0x8005E272."
    assert keys(match(swapped)) == ["AADSTS7000215", "8005E272"]


def test_match_mixes_phrases_and_codes_without_duplicates() -> None:
    text = ("The email message \"Your mailbox is now connected to Dynamics 365\" cannot be sent because an error "
            "occurred while establishing a secure connection to the email server. Mailbox Sales didn't synchronize."
            "\nEmail Server Error Code: Http server returned Forbidden exception.\nDetails: HTTP 403, "
            "X-EWS-Policy-Reason: EWS is blocked by policy for this user or tenant. Http server returned Forbidden "
            "exception.")
    assert keys(match(text)) == ["http-403-forbidden", "x-ews-policy-blocked"]


def test_match_reads_signed_decimals_and_named_codes() -> None:
    text = ("An unknown error occurred while receiving email through the mailbox \"Support\". The owner of the "
            "associated email server profile Exchange B has been notified. The system will try to receive email "
            "again later.\nEmail Server Error Code: Exchange server returned UnknownIncomingEmailIntegrationError "
            "-2147209462 exception.")
    assert keys(match(text)) == ["80042F0A"]
    other = "Exchange server returned UnknownIncomingEmailIntegrationError -2147220891 exception."
    assert keys(match(other)) == ["80040265"]
    named = "Test & Enable failed. Email Server Error Code: MailboxNotEnabledForRESTAPI"
    assert keys(match(named)) == ["8005E274"]
    claims = "Error: NoUserFoundWithGivenClaims. Details: User does not exist in tenant with id '42'."
    assert keys(match(claims)) == ["NoUserFoundWithGivenClaims"]


def test_match_ignores_codes_inside_longer_tokens() -> None:
    assert match("request 8005e272-1a2b-4c3d-9e8f-001122334455 succeeded") == []  # a GUID, not a code
    assert match("XAADSTS7000222 and 18005E272 and 1-2147097998") == []
    assert match("nothing to see here") == []
    # a generic code is an alias for lookup only, never a hit inside a text
    assert match("ErrorCode: -2147220970 Message: An unexpected error occurred.") == []


def test_match_is_case_and_whitespace_insensitive() -> None:
    assert keys(match("HTTP SERVER\n   RETURNED 401 unauthorized EXCEPTION")) == ["http-401-unauthorized"]
    assert keys(match("x-ews-policy-reason: ews is disabled for this user or tenant")) == ["x-ews-policy-disabled"]


# --- near() ---------------------------------------------------------------------------------------------------------


def test_near_suggests_the_closest_code_for_a_typo() -> None:
    suggestions = near("AADSTS70002")
    assert suggestions and "AADSTS700027" in suggestions[:2]
    assert near("aadsts 700017")[0] == "AADSTS700016"
    assert near("8005E271")[0] in {"8005E272", "8005E273"}
    assert "Client secret expired" in near("client secret expird")


def test_near_returns_nothing_for_nonsense() -> None:
    assert near("qqqq zzzz xxxx") == []
    assert near("") == []
    assert near("AADSTS70002", n=0) == []


def test_near_respects_n() -> None:
    assert len(near("AADSTS7000", n=2)) <= 2


# --- render() -------------------------------------------------------------------------------------------------------


def test_render_shows_cause_fix_link_and_checks() -> None:
    entry = lookup("AADSTS7000222")
    assert entry is not None
    text = render(entry)
    first = text.splitlines()[0]
    assert "AADSTS7000222" in first and entry.title in first and "aadsts" in first
    for label in ("Cause:", "Fix:", "See:", entry.link, "Checked by: APP-004, EXO-003"):
        assert label in text


def test_render_leaves_out_checked_by_without_checks() -> None:
    entry = lookup("-2147220891")
    assert entry is not None and entry.checks == ()
    assert "Checked by" not in render(entry)


# --- the data itself ------------------------------------------------------------------------------------------------


def test_every_entry_is_complete() -> None:
    for entry in ENTRIES:
        assert entry.title.strip() and entry.cause.strip() and entry.fix.strip(), entry.key
        assert entry.link.startswith("https://"), entry.key
        assert entry.family in {"aadsts", "sync-code", "alert-text", "ews-policy", "graph-error", "undocumented"}, \
            entry.key
        assert all(phrase == phrase.lower() and phrase.strip() == phrase for phrase in entry.phrases), entry.key


def test_keys_are_unique() -> None:
    all_keys = [entry.key for entry in ENTRIES]
    assert len(all_keys) == len(set(all_keys))


def test_check_ids_are_well_formed() -> None:
    for entry in ENTRIES:
        for check_id in entry.checks:
            assert re.fullmatch(r"[A-Z]{3}-\d{3}", check_id), (entry.key, check_id)


def test_every_entry_can_be_found_by_its_key() -> None:
    for entry in ENTRIES:
        assert lookup(entry.key) == entry
        assert lookup(entry.key.lower()) == entry


def test_no_code_belongs_to_two_entries() -> None:
    seen: dict[str, str] = {}
    for entry in ENTRIES:
        for code in entry.codes:
            assert code not in seen, (code, seen.get(code), entry.key)
            seen[code] = entry.key


def test_explain_repeats_what_it_did_not_know_as_one_short_line(capsys: pytest.CaptureFixture[str]) -> None:
    from checks.cli import main

    assert main(["explain", "x" * 100_000]) == 2
    err = capsys.readouterr().err
    assert err == f"xtcheck: nothing known about {'x' * 80!r} (and 99,920 more characters)\n"
    assert main(["explain", "AADSTS9\n::error::forged"]) == 2
    assert capsys.readouterr().err.splitlines()[0] == "xtcheck: nothing known about 'AADSTS9\\\\n::error::forged'"
