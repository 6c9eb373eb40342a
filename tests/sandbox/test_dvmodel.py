"""Tests for the sandbox's Dataverse table model."""

import pytest

from checks.sandbox.dvmodel import TABLES, Column, ColumnType, Navigation, table_for_logical_name
from checks.sandbox.dvvalues import formatted_value, normalize_row

MAILBOXES = TABLES["mailboxes"]
PROFILES = TABLES["emailserverprofiles"]
TRACELOGS = TABLES["tracelogs"]
MBX_ID = "0f8fad5b-d9cb-469f-a165-70867728950e"
PROFILE_ID = "7c9e6679-7425-40de-944b-e07fc1f90ae7"


def test_tables_keyed_by_entity_set() -> None:
    assert set(TABLES) == {"emailserverprofiles", "mailboxes", "tracelogs", "organizations", "systemusers"}
    assert MAILBOXES.logical_name == "mailbox"
    assert MAILBOXES.primary_id == "mailboxid"
    assert TRACELOGS.primary_name == "text"
    assert TABLES["systemusers"].primary_name == "fullname"


def test_object_type_codes_and_privileges() -> None:
    codes = {t.logical_name: t.object_type_code for t in TABLES.values()}
    assert codes == {"mailbox": 9606, "emailserverprofile": 9605, "tracelog": 4700, "organization": 1019,
                     "systemuser": 8}
    assert MAILBOXES.privilege == "prvReadMailbox"
    assert PROFILES.privilege == "prvReadEmailServerProfile"
    assert TRACELOGS.privilege == "prvReadTraceLog"


def test_table_for_logical_name() -> None:
    assert table_for_logical_name("emailserverprofile") is PROFILES
    assert table_for_logical_name("tracelog").entity_set == "tracelogs"
    with pytest.raises(KeyError):
        table_for_logical_name("queue")


def test_mailbox_defaults_describe_a_healthy_sss_mailbox() -> None:
    row = normalize_row(MAILBOXES, {"mailboxid": MBX_ID, "name": "Ana", "emailaddress": "ana@b.example"})
    assert row["mailboxid"] == MBX_ID
    assert row["statecode"] == 0 and row["statuscode"] == 1
    assert row["isforwardmailbox"] is False
    assert row["incomingemaildeliverymethod"] == 2
    assert row["outgoingemaildeliverymethod"] == 2
    assert row["actdeliverymethod"] == 1
    for status in ("incomingemailstatus", "outgoingemailstatus", "actstatus", "mailboxstatus"):
        assert row[status] == 1
    assert row["enabledforincomingemail"] is True and row["enabledforact"] is True
    assert row["emailrouteraccessapproval"] == 1
    assert row["isemailaddressapprovedbyo365admin"] is True
    assert row["_emailserverprofile_value"] is None
    assert row["createdon"] is None and row["modifiedon"] is None


def test_profile_defaults() -> None:
    row = normalize_row(PROFILES, {"emailserverprofileid": PROFILE_ID, "name": "EXO B"})
    assert row["servertype"] == 0
    assert row["emailservertypename"] == "Exchange Online"
    assert row["incomingcredentialretrieval"] == row["outgoingcredentialretrieval"] == 7
    assert row["incomingauthenticationprotocol"] == 4
    assert row["useautodiscover"] is True
    assert row["incomingportnumber"] == row["outgoingportnumber"] == 443
    assert row["incomingusessl"] is True
    assert row["usedefaulttenantid"] is False
    assert row["isoauthclientsecretset"] is False
    assert row["serverauthority"] == 3
    assert row["lasttestexecutionstatus"] is None and row["lastteststarttime"] is None


def test_every_readable_column_present() -> None:
    row = normalize_row(TRACELOGS, {"tracelogid": MBX_ID})
    readable = {name for name, col in TRACELOGS.columns.items() if col.readable}
    assert set(row) == readable
    assert row["level"] == 1


def test_caller_values_override_defaults() -> None:
    row = normalize_row(
        MAILBOXES, {"mailboxid": MBX_ID, "incomingemailstatus": 2, "enabledforincomingemail": False})
    assert row["incomingemailstatus"] == 2
    assert row["enabledforincomingemail"] is False


def test_missing_primary_id_rejected() -> None:
    with pytest.raises(ValueError, match="mailboxid"):
        normalize_row(MAILBOXES, {"name": "no id"})


def test_unknown_column_rejected_with_key_and_table() -> None:
    with pytest.raises(ValueError, match=r"'emailserverprofileid'.*mailbox"):
        normalize_row(MAILBOXES, {"mailboxid": MBX_ID, "emailserverprofileid": PROFILE_ID})


def test_annotation_key_rejected() -> None:
    with pytest.raises(ValueError, match=r"@odata\.etag"):
        normalize_row(MAILBOXES, {"mailboxid": MBX_ID, "@odata.etag": 'W/"1"'})


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("enabledforact", 1),
        ("incomingemailstatus", "1"),
        ("incomingemailstatus", True),
        ("lastsyncerrorcount", 1.5),
        ("name", 7),
        ("lastsyncstartedon", "yesterday"),
        ("_emailserverprofile_value", "not-a-guid"),
        ("regardingobjecttypecode", "account"),
    ],
)
def test_wrong_type_rejected(column: str, value: object) -> None:
    with pytest.raises(ValueError, match=f"mailbox.{column}"):
        normalize_row(MAILBOXES, {"mailboxid": MBX_ID, column: value})


def test_unknown_option_value_rejected() -> None:
    with pytest.raises(ValueError, match="not an option value"):
        normalize_row(MAILBOXES, {"mailboxid": MBX_ID, "actdeliverymethod": 3})
    with pytest.raises(ValueError, match="not an option value"):
        normalize_row(PROFILES, {"emailserverprofileid": PROFILE_ID, "servertype": 5})


def test_state_sets_default_status_and_mismatch_rejected() -> None:
    row = normalize_row(MAILBOXES, {"mailboxid": MBX_ID, "statecode": 1})
    assert row["statuscode"] == 2
    with pytest.raises(ValueError, match="statuscode"):
        normalize_row(MAILBOXES, {"mailboxid": MBX_ID, "statecode": 1, "statuscode": 1})


def test_write_only_secret_never_returned() -> None:
    assert PROFILES.columns["oauthclientsecret"].readable is False
    row = normalize_row(PROFILES, {"emailserverprofileid": PROFILE_ID, "oauthclientsecret": "s3cr3t"})
    assert "oauthclientsecret" not in row
    assert "s3cr3t" not in row.values()
    assert row["isoauthclientsecretset"] is True


def test_guids_lowercased() -> None:
    row = normalize_row(
        MAILBOXES, {"mailboxid": MBX_ID.upper(), "_emailserverprofile_value": PROFILE_ID.upper()})
    assert row["mailboxid"] == MBX_ID
    assert row["_emailserverprofile_value"] == PROFILE_ID


def test_datetimes_canonicalised_to_utc_z() -> None:
    row = normalize_row(MAILBOXES, {"mailboxid": MBX_ID, "lastsyncstartedon": "2026-11-20T09:00:00+01:00",
                                    "createdon": "2026-01-02T03:04:05.678Z"})
    assert row["lastsyncstartedon"] == "2026-11-20T08:00:00Z"
    assert row["createdon"] == "2026-01-02T03:04:05Z"


def test_mailbox_option_labels() -> None:
    cols = MAILBOXES.columns
    approval = {0: "Empty", 1: "Approved", 2: "Pending Approval", 3: "Rejected"}
    assert dict(cols["emailrouteraccessapproval"].options) == approval
    assert cols["incomingemaildeliverymethod"].options[3] == "Forward Mailbox"
    assert cols["incomingemaildeliverymethod"].options[2] == "Server-Side Synchronization"
    assert cols["outgoingemaildeliverymethod"].options[1] == "Microsoft Dynamics 365 for Outlook"
    assert dict(cols["actdeliverymethod"].options) == {0: "Microsoft Dynamics 365 for Outlook",
                                                       1: "Server-Side Synchronization", 2: "None"}
    for name in ("incomingemailstatus", "outgoingemailstatus", "actstatus", "mailboxstatus"):
        assert dict(cols[name].options) == {0: "Not Run", 1: "Success", 2: "Failure"}


def test_profile_option_labels() -> None:
    cols = PROFILES.columns
    assert dict(cols["servertype"].options) == {0: "Exchange Server", 1: "Other (POP3/SMTP)",
                                                2: "Exchange Server (Hybrid)", 3: "Exchange Online (Hybrid)",
                                                4: "IMAP/SMTP"}
    for name in ("incomingcredentialretrieval", "outgoingcredentialretrieval"):
        options = cols[name].options
        assert sorted(options) == list(range(8))
        assert options[2] == "Server to Server Authentication"
        assert options[7] == "OAuth with Microsoft Entra ID"
    assert dict(cols["lasttestexecutionstatus"].options) == {0: "Failure", 1: "Success", 2: "Warning"}
    assert dict(cols["lasttestvalidationstatus"].options) == {0: "Failure", 1: "Success"}
    assert dict(cols["lastauthorizationstatus"].options) == {0: "Failure", 1: "Success"}
    assert cols["incomingauthenticationprotocol"].options[4] == "OAuth"


def test_tracelog_and_systemuser_labels() -> None:
    assert dict(TRACELOGS.columns["level"].options) == {1: "Information", 2: "Warning", 3: "Error"}
    assert TABLES["systemusers"].columns["accessmode"].options[4] == "Non-interactive"


def test_column_types() -> None:
    assert MAILBOXES.columns["_emailserverprofile_value"].type is ColumnType.LOOKUP
    assert MAILBOXES.columns["_emailserverprofile_value"].targets == ("emailserverprofile",)
    assert MAILBOXES.columns["regardingobjecttypecode"].type is ColumnType.ENTITYNAME
    assert PROFILES.columns["lasttesttotalexecutiontime"].type is ColumnType.BIGINT
    assert PROFILES.columns["lasttestresponse"].type is ColumnType.MEMO
    assert MAILBOXES.columns["statecode"].type is ColumnType.STATE
    org = TABLES["organizations"]
    assert org.columns["_defaultemailserverprofileid_value"].targets == ("emailserverprofile",)


def test_navigations() -> None:
    assert MAILBOXES.navigations["emailserverprofile"] == Navigation(
        "emailserverprofile", "_emailserverprofile_value", "emailserverprofile")
    assert TRACELOGS.navigations["regardingobjectid_mailbox"].target == "mailbox"
    assert TRACELOGS.navigations["regardingobjectid_emailserverprofile"].lookup == "_regardingobjectid_value"
    assert dict(PROFILES.navigations) == {}


def test_formatted_picklist_and_state() -> None:
    delivery = MAILBOXES.columns["incomingemaildeliverymethod"]
    assert formatted_value(delivery, 2) == "Server-Side Synchronization"
    assert formatted_value(MAILBOXES.columns["emailrouteraccessapproval"], 2) == "Pending Approval"
    retrieval = PROFILES.columns["incomingcredentialretrieval"]
    assert formatted_value(retrieval, 7) == "OAuth with Microsoft Entra ID"
    assert formatted_value(MAILBOXES.columns["statecode"], 1) == "Inactive"
    assert formatted_value(MAILBOXES.columns["statuscode"], 1) == "Active"


def test_formatted_boolean() -> None:
    assert formatted_value(MAILBOXES.columns["isforwardmailbox"], False) == "No"
    assert formatted_value(MAILBOXES.columns["enabledforact"], True) == "Yes"
    assert formatted_value(TRACELOGS.columns["tracestatus"], True) == "Success"
    assert formatted_value(TRACELOGS.columns["tracestatus"], False) == "Failure"


def test_formatted_integer_uses_thousands_separator() -> None:
    assert formatted_value(PROFILES.columns["incomingportnumber"], 443) == "443"
    assert formatted_value(MAILBOXES.columns["lastsyncerrorcount"], 1234) == "1,234"
    assert formatted_value(MAILBOXES.columns["lastsyncerrorcode"], -2147209462) == "-2,147,209,462"
    assert formatted_value(PROFILES.columns["versionnumber"], 9876543) == "9,876,543"


def test_formatted_datetime() -> None:
    column = MAILBOXES.columns["lastsyncstartedon"]
    assert formatted_value(column, "2026-11-20T08:00:00Z") == "11/20/2026 8:00 AM"
    assert formatted_value(column, "2026-01-05T00:07:00Z") == "1/5/2026 12:07 AM"
    assert formatted_value(column, "2026-07-04T15:30:00Z") == "7/4/2026 3:30 PM"
    assert formatted_value(column, "2026-07-04T12:00:00Z") == "7/4/2026 12:00 PM"


def test_formatted_none_for_null_strings_and_lookups() -> None:
    assert formatted_value(MAILBOXES.columns["incomingemailstatus"], None) is None
    assert formatted_value(MAILBOXES.columns["name"], "Ana") is None
    assert formatted_value(MAILBOXES.columns["_emailserverprofile_value"], PROFILE_ID) is None


def test_column_options_are_read_only() -> None:
    column = Column("x", ColumnType.PICKLIST, options={1: "One"})
    with pytest.raises(TypeError):
        column.options[2] = "Two"  # type: ignore[index]
