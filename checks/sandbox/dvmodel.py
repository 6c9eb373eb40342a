"""Table metadata for the fake Dataverse Web API: column types, the five tables served, option labels, defaults."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Any


class ColumnType(StrEnum):
    STRING = "String"
    MEMO = "Memo"
    INTEGER = "Integer"
    BIGINT = "BigInt"
    BOOLEAN = "Boolean"
    PICKLIST = "Picklist"
    STATE = "State"
    STATUS = "Status"
    DATETIME = "DateTime"
    UNIQUEIDENTIFIER = "Uniqueidentifier"
    LOOKUP = "Lookup"
    ENTITYNAME = "EntityName"


@dataclass(frozen=True)
class Column:
    """One Web API property. For ENTITYNAME columns, ``targets`` lists the allowed table names."""

    name: str
    type: ColumnType
    options: Mapping[int, str] = field(default_factory=dict)
    true_label: str = "Yes"
    false_label: str = "No"
    targets: tuple[str, ...] = ()
    default: Any = None
    readable: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "options", MappingProxyType(dict(self.options)))


@dataclass(frozen=True)
class Navigation:
    """Single-valued navigation property; a polymorphic lookup has one per target (expand only on a match)."""

    name: str
    lookup: str
    target: str


@dataclass(frozen=True)
class Table:
    logical_name: str
    entity_set: str
    primary_id: str
    primary_name: str
    columns: Mapping[str, Column]
    privilege: str
    object_type_code: int
    navigations: Mapping[str, Navigation]


# ---- compact column constructors -------------------------------------------------------------------------
def _s(name: str, default: str | None = None) -> Column:
    return Column(name, ColumnType.STRING, default=default)


def _m(name: str) -> Column:
    return Column(name, ColumnType.MEMO)


def _i(name: str, default: int | None = None) -> Column:
    return Column(name, ColumnType.INTEGER, default=default)


def _b(name: str, default: bool | None, true_label: str = "Yes", false_label: str = "No") -> Column:
    return Column(name, ColumnType.BOOLEAN, true_label=true_label, false_label=false_label, default=default)


def _p(name: str, options: Mapping[int, str], default: int | None = None) -> Column:
    return Column(name, ColumnType.PICKLIST, options=options, default=default)


def _dt(name: str) -> Column:
    return Column(name, ColumnType.DATETIME)


def _lk(name: str, *targets: str) -> Column:
    return Column(name, ColumnType.LOOKUP, targets=targets)


_STATE = Column("statecode", ColumnType.STATE, options={0: "Active", 1: "Inactive"}, default=0)
_STATUS = Column("statuscode", ColumnType.STATUS, options={1: "Active", 2: "Inactive"}, default=1)
_STAMPS = (_dt("createdon"), _dt("modifiedon"))  # callers supply these

# ---- option sets (labels from the generated entity reference pages) ---------------------------------------
SERVER_TYPE = {0: "Exchange Server", 1: "Other (POP3/SMTP)", 2: "Exchange Server (Hybrid)",
               3: "Exchange Online (Hybrid)", 4: "IMAP/SMTP"}
SERVER_AUTHORITY = {0: "Public (+GCC) (https://login.microsoftonline.com)",
                    1: "US Government (GCC High and DoD) (https://login.microsoftonline.us)",
                    2: "China (21Vianet) (https://login.chinacloudapi.cn)",
                    3: "Automatic (determined by Dynamics 365 cloud)"}
# 7 was labelled "Azure Active Directory OAuth" in the 2021 page; now "OAuth with Microsoft Entra ID".
CREDENTIAL_RETRIEVAL = {
    0: "Credentials Specified by a User or Queue", 1: "Credentials Specified in Email Server Profile",
    2: "Server to Server Authentication", 3: "Windows Integrated Authentication",
    4: "Without Credentials (Anonymous)", 5: "Gmail OAuth", 6: "Exchange Hybrid Modern Auth (HMA)",
    7: "OAuth with Microsoft Entra ID"}
AUTH_PROTOCOL = {0: "Auto Detect", 1: "Negotiate", 2: "NTLM", 3: "Basic", 4: "OAuth"}
TEST_STATUS = {0: "Failure", 1: "Success", 2: "Warning"}
PASS_FAIL = {0: "Failure", 1: "Success"}
APPROVAL = {0: "Empty", 1: "Approved", 2: "Pending Approval", 3: "Rejected"}
# Option 2 read "Server-Side Synchronization or Email Router" in the 2021 page; current metadata: short label.
INCOMING_DELIVERY = {0: "None", 1: "Microsoft Dynamics 365 for Outlook", 2: "Server-Side Synchronization",
                     3: "Forward Mailbox"}
OUTGOING_DELIVERY = {0: "None", 1: "Microsoft Dynamics 365 for Outlook", 2: "Server-Side Synchronization"}
ACT_DELIVERY = {0: "Microsoft Dynamics 365 for Outlook", 1: "Server-Side Synchronization", 2: "None"}
RUN_STATUS = {0: "Not Run", 1: "Success", 2: "Failure"}
TRACE_LEVEL = {1: "Information", 2: "Warning", 3: "Error"}
EMAIL_CONNECTION_CHANNEL = {0: "Server-Side Synchronization", 1: "Microsoft Dynamics 365 Email Router"}
ACCESS_MODE = {0: "Read-Write", 1: "Administrative", 2: "Read", 3: "Support User", 4: "Non-interactive",
               5: "Delegated Admin"}


def _table(logical: str, entity_set: str, primary_name: str, privilege: str, otc: int, *,
           columns: tuple[Column, ...], navigations: tuple[Navigation, ...] = ()) -> Table:
    pk = Column(f"{logical}id", ColumnType.UNIQUEIDENTIFIER)
    cols = {c.name: c for c in (pk, *columns)}
    assert primary_name in cols and all(n.lookup in cols for n in navigations)
    return Table(logical, entity_set, pk.name, primary_name, MappingProxyType(cols), privilege, otc,
                 MappingProxyType({n.name: n for n in navigations}))


_PROFILE = _table("emailserverprofile", "emailserverprofiles", "name", "prvReadEmailServerProfile", 9605,
                  columns=(
    _s("name"),
    # Uncertain in the docs: PPAC "Exchange Online" is most likely servertype 0 + this emailservertypename.
    _p("servertype", SERVER_TYPE, 0), _s("emailservertypename", "Exchange Online"),
    _p("serverauthority", SERVER_AUTHORITY, 3),  # value the UI writes is unverified
    _s("exchangeonlinetenantid"),
    _b("usedefaulttenantid", False),  # metadata default True; probably False for cross-tenant (unverified)
    _s("oauthclientid"), Column("oauthclientsecret", ColumnType.STRING, readable=False),
    _b("isoauthclientsecretset", False), _s("aadresourceid"),
    # Uncertain in the docs: 7 is the likely value for "Oauth (Cross Tenant)"; same-tenant S2S is 2.
    _p("incomingcredentialretrieval", CREDENTIAL_RETRIEVAL, 7),
    _p("outgoingcredentialretrieval", CREDENTIAL_RETRIEVAL, 7),
    _p("incomingauthenticationprotocol", AUTH_PROTOCOL, 4),
    _p("outgoingauthenticationprotocol", AUTH_PROTOCOL, 4),
    _s("incomingserverlocation"), _s("outgoingserverlocation"), _b("useautodiscover", True),
    _i("incomingportnumber", 443), _i("outgoingportnumber", 443),
    _b("incomingusessl", True), _b("outgoingusessl", True),
    _p("lasttestexecutionstatus", TEST_STATUS), _p("lasttestvalidationstatus", PASS_FAIL),
    _p("lastauthorizationstatus", PASS_FAIL), _dt("lastteststarttime"),
    Column("lasttesttotalexecutiontime", ColumnType.BIGINT),
    _m("lastcrmmessage"), _m("lasttestrequest"), _m("lasttestresponse"), _b("sendemailalert", False),
    _STATE, _STATUS, *_STAMPS, _lk("_ownerid_value", "systemuser", "team"),
    _lk("_organizationid_value", "organization"), Column("versionnumber", ColumnType.BIGINT),
))

_MAILBOX = _table("mailbox", "mailboxes", "name", "prvReadMailbox", 9606, columns=(
    _s("name"), _s("emailaddress"), _p("emailrouteraccessapproval", APPROVAL, 1),
    _b("isemailaddressapprovedbyo365admin", True), _dt("emailaddressapprovedon"),
    _lk("_emailserverprofile_value", "emailserverprofile"),
    _lk("_regardingobjectid_value", "systemuser", "queue"),
    Column("regardingobjecttypecode", ColumnType.ENTITYNAME, targets=("systemuser", "queue")),
    _p("incomingemaildeliverymethod", INCOMING_DELIVERY, 2),
    _p("outgoingemaildeliverymethod", OUTGOING_DELIVERY, 2),
    _p("actdeliverymethod", ACT_DELIVERY, 1),
    *(_p(n, RUN_STATUS, 1) for n in ("incomingemailstatus", "outgoingemailstatus", "actstatus",
                                     "mailboxstatus")),
    _b("enabledforincomingemail", True), _b("enabledforoutgoingemail", True), _b("enabledforact", True),
    _b("testemailconfigurationscheduled", False), _dt("testmailboxaccesscompletedon"),
    _dt("testandenablelastattemptedon"), _dt("lastsuccessfulsynccompletedon"), _dt("lastsyncstartedon"),
    _s("lastsyncerror"), _i("lastsyncerrorcode"), _i("lastsyncerrorcount", 0), _dt("lastsyncerroroccurredon"),
    _i("processingstatecode", 0),  # values undocumented
    _b("isforwardmailbox", False),  # metadata default True; a user/queue mailbox is not a forward mailbox
    _b("isserviceaccount", False), _s("ewsurl"), _b("orgmarkedasprimaryforexchangesync", False),
    _STATE, _STATUS, *_STAMPS, _lk("_ownerid_value", "systemuser", "team"),
), navigations=(Navigation("emailserverprofile", "_emailserverprofile_value", "emailserverprofile"),
    Navigation("regardingobjectid", "_regardingobjectid_value", "systemuser")))

_TRACELOG = _table("tracelog", "tracelogs", "text", "prvReadTraceLog", 4700, columns=(
    _s("text"), _p("level", TRACE_LEVEL, 1), _i("tracecode", 0), _s("errordetails"), _s("errortypedisplay"),
    _b("tracestatus", False, "Success", "Failure"),
    _lk("_regardingobjectid_value", "emailserverprofile", "mailbox"),
    # Real column (EntityName): tells which table _regardingobjectid_value points to.
    Column("regardingobjecttypecode", ColumnType.ENTITYNAME, targets=("emailserverprofile", "mailbox")),
    _s("machinename"), *_STAMPS,
), navigations=(Navigation("regardingobjectid_mailbox", "_regardingobjectid_value", "mailbox"),
    Navigation("regardingobjectid_emailserverprofile", "_regardingobjectid_value", "emailserverprofile")))

_ORGANIZATION = _table("organization", "organizations", "name", "prvReadOrganization", 1019, columns=(
    _s("name"), _b("requireapprovalforuseremail", True), _b("requireapprovalforqueueemail", True),
    _lk("_defaultemailserverprofileid_value", "emailserverprofile"),
    _b("isemailserverprofilecontentfilteringenabled", False),
    _p("emailconnectionchannel", EMAIL_CONNECTION_CHANNEL, 0), *_STAMPS,
))

_SYSTEMUSER = _table("systemuser", "systemusers", "fullname", "prvReadUser", 8, columns=(
    _s("fullname"), _s("domainname"), _s("internalemailaddress"),
    Column("applicationid", ColumnType.UNIQUEIDENTIFIER), _b("isdisabled", False),
    _p("accessmode", ACCESS_MODE, 0), _lk("_businessunitid_value", "businessunit"),
))

TABLES: Mapping[str, Table] = MappingProxyType(
    {t.entity_set: t for t in (_PROFILE, _MAILBOX, _TRACELOG, _ORGANIZATION, _SYSTEMUSER)})


def table_for_logical_name(name: str) -> Table:
    for table in TABLES.values():
        if table.logical_name == name:
            return table
    raise KeyError(f"unknown table {name!r}")
