"""Graph's users: the v1.0 `user` shape, Exchange Online licences, and generated users built only when read."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, overload

Row = Mapping[str, Any]

EXCHANGE_PLAN_1 = "9aaf7827-d63c-4b61-89c3-182f06f82e5c"  # Exchange Online (Plan 1): EXCHANGE_S_STANDARD
EXCHANGE_PLAN_2 = "efb87545-963c-4e0d-99df-69c6916d9eb0"  # Exchange Online (Plan 2): EXCHANGE_S_ENTERPRISE
EXCHANGE_STANDARD_SKU = "4b9405b0-7788-4568-add1-99614e613b69"  # EXCHANGESTANDARD, Exchange Online (Plan 1)
M365_E3_SKU = "05e9a617-0261-4cee-bb44-138d3ef5d965"  # SPE_E3, Microsoft 365 E3
# Some service plans of Microsoft 365 E3 as assignedPlans names them (service, servicePlanId); the Exchange one first.
E3_PLANS = (("exchange", EXCHANGE_PLAN_2), ("SharePoint", "5dbe027f-2339-4123-9542-606e4d348a72"),
            ("TeamspaceAPI", "57ff2da0-773e-42df-b2af-ffb7a2317929"),
            ("MicrosoftOffice", "43de0ff5-c92c-492b-9116-175376d08c38"))
LICENSED_SINCE = "2025-01-01T00:00:00Z"

# What GET /users and /users/{id} return without $select (Graph's order).
DEFAULT_PROPERTIES = ("businessPhones", "displayName", "givenName", "jobTitle", "mail", "mobilePhone",
                      "officeLocation", "preferredLanguage", "surname", "userPrincipalName", "id")
# The v1.0 user type's properties: $select may name any of them (those the sandbox does not keep come back null).
USER_PROPERTIES = frozenset({
    "aboutMe", "accountEnabled", "ageGroup", "assignedLicenses", "assignedPlans", "authorizationInfo", "birthday",
    "businessPhones", "city", "companyName", "consentProvidedForMinor", "country", "createdDateTime", "creationType",
    "customSecurityAttributes", "deletedDateTime", "department", "displayName", "employeeHireDate", "employeeId",
    "employeeLeaveDateTime", "employeeOrgData", "employeeType", "externalUserState",
    "externalUserStateChangeDateTime", "faxNumber", "givenName", "hireDate", "id", "identities", "imAddresses",
    "interests", "isManagementRestricted", "isResourceAccount", "jobTitle", "lastPasswordChangeDateTime",
    "legalAgeGroupClassification", "licenseAssignmentStates", "mail", "mailboxSettings", "mailNickname",
    "mobilePhone", "mySite", "officeLocation", "onPremisesDistinguishedName", "onPremisesDomainName",
    "onPremisesExtensionAttributes", "onPremisesImmutableId", "onPremisesLastSyncDateTime",
    "onPremisesProvisioningErrors", "onPremisesSamAccountName", "onPremisesSecurityIdentifier",
    "onPremisesSyncEnabled", "onPremisesUserPrincipalName", "otherMails", "passwordPolicies", "passwordProfile",
    "pastProjects", "postalCode", "preferredDataLocation", "preferredLanguage", "preferredName", "print",
    "provisionedPlans", "proxyAddresses", "responsibilities", "schools", "securityIdentifier",
    "serviceProvisioningErrors", "showInAddressList", "signInActivity", "signInSessionsValidFromDateTime", "skills",
    "state", "streetAddress", "surname", "usageLocation", "userPrincipalName", "userType",
})
INDEXED = ("id", "userPrincipalName", "mail")  # what a store finds without reading every user


def assigned_plan(service: str, plan_id: str, since: str = LICENSED_SINCE,
                  status: str = "Enabled") -> dict[str, Any]:
    return {"assignedDateTime": since, "capabilityStatus": status, "service": service, "servicePlanId": plan_id}


def e3_plans(since: str = LICENSED_SINCE) -> list[dict[str, Any]]:
    """A Microsoft 365 E3 user's assignedPlans, shortened to four services (Exchange Online (Plan 2) among them)."""
    return [assigned_plan(service, plan_id, since) for service, plan_id in E3_PLANS]


def user_object(user_id: str, display_name: str, upn: str, *, mail: str | None, proxy_addresses: list[str],
                enabled: bool = True, plans: list[dict[str, Any]] | None = None, sku: str | None = None,
                usage_location: str | None = None, created: str = "2024-01-01T00:00:00Z",
                user_type: str = "Member") -> dict[str, Any]:
    """The v1.0 `user` resource with the properties the sandbox keeps (the others read as null)."""
    plans = plans or []
    services = dict.fromkeys(p["service"] for p in plans)
    given, _, surname = display_name.partition(" ")
    return {
        "id": user_id, "deletedDateTime": None, "accountEnabled": enabled, "ageGroup": None, "businessPhones": [],
        "city": None, "companyName": None, "country": None, "createdDateTime": created, "creationType": None,
        "department": None, "displayName": display_name, "employeeId": None, "externalUserState": None,
        "givenName": given or None, "imAddresses": [], "jobTitle": None, "mail": mail,
        "mailNickname": upn.partition("@")[0], "mobilePhone": None, "officeLocation": None,
        "onPremisesSyncEnabled": None, "otherMails": [], "postalCode": None, "preferredDataLocation": None,
        "preferredLanguage": None, "proxyAddresses": proxy_addresses, "showInAddressList": None, "state": None,
        "streetAddress": None, "surname": surname or None,
        "usageLocation": usage_location if plans else None, "userPrincipalName": upn, "userType": user_type,
        "assignedLicenses": [{"disabledPlans": [], "skuId": sku}] if sku and plans else [],
        "assignedPlans": plans,
        "provisionedPlans": [{"capabilityStatus": "Enabled", "provisioningStatus": "Success", "service": service}
                             for service in services],
    }


def generated_address(number: int, domain: str) -> str:
    """The address of generated mailbox `number` (from 1): its Dataverse mailbox and its Entra user share it."""
    return f"user{number:05d}@{domain}"


def mail_domain(mailboxes: Sequence[Row], fallback: Sequence[str]) -> str:
    """The domain generated mailboxes use: the first declared mailbox's, else the first of `fallback`."""
    for mailbox in mailboxes:
        address = mailbox.get("emailaddress")
        if isinstance(address, str) and "@" in address:
            return address.rsplit("@", 1)[1]
    return fallback[0] if fallback else "contoso.com"


@dataclass(frozen=True)
class GeneratedUsers:
    """`count` enabled, Exchange-licensed users user00001@domain…, made when read: nothing is kept per user. Ids are
    `id_prefix` (a GUID's first four groups) and the user's number in hex, so finding one by id is arithmetic."""

    id_prefix: str
    count: int
    domain: str
    usage_location: str | None = None

    def __len__(self) -> int:
        return self.count

    def user(self, number: int) -> dict[str, Any]:
        address = generated_address(number, self.domain)
        return user_object(f"{self.id_prefix}-{number:012x}", f"User {number:05d}", address, mail=address,
                           proxy_addresses=[f"SMTP:{address}"], plans=[assigned_plan("exchange", EXCHANGE_PLAN_1)],
                           sku=EXCHANGE_STANDARD_SKU, usage_location=self.usage_location)

    def find(self, field: str, value: str) -> dict[str, Any] | None:
        """The user whose `field` (id, userPrincipalName or mail) equals `value` ignoring case."""
        wanted = value.lower()
        if field == "id":
            prefix, _, tail = wanted.rpartition("-")
            number = int(tail, 16) if prefix == self.id_prefix and re.fullmatch(r"[0-9a-f]{12}", tail) else 0
        else:
            match = re.fullmatch(r"user(\d+)@.+", wanted)
            number = int(match.group(1)) if match else 0
        if not 1 <= number <= self.count:
            return None
        user = self.user(number)
        return user if str(user[field]).lower() == wanted else None


class UserStore(Sequence[Row]):
    """A tenant's users in order, the scenario's then the generated ones; found by id, userPrincipalName or mail."""

    def __init__(self) -> None:
        self._users: list[dict[str, Any]] = []
        self._blocks: list[GeneratedUsers] = []
        self._index: dict[tuple[str, str], list[dict[str, Any]]] = {}

    def add(self, user: dict[str, Any]) -> None:
        self._users.append(user)
        for field in INDEXED:
            if isinstance(user.get(field), str):
                self._index.setdefault((field, user[field].lower()), []).append(user)

    def add_generated(self, block: GeneratedUsers) -> None:
        self._blocks.append(block)

    def __len__(self) -> int:
        return len(self._users) + sum(len(block) for block in self._blocks)

    @overload
    def __getitem__(self, index: int) -> Row: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[Row]: ...

    def __getitem__(self, index: int | slice) -> Row | Sequence[Row]:
        if isinstance(index, slice):
            return [self._at(i) for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(index)
        return self._at(index)

    def __iter__(self) -> Iterator[Row]:
        yield from self._users
        for block in self._blocks:
            yield from (block.user(number) for number in range(1, block.count + 1))

    def _at(self, index: int) -> Row:
        if index < len(self._users):
            return self._users[index]
        index -= len(self._users)
        for block in self._blocks:
            if index < block.count:
                return block.user(index + 1)
            index -= block.count
        raise IndexError(index)

    def candidates(self, field: str, value: str) -> list[Row] | None:
        """Every user whose `field` equals `value` ignoring case (so at least those an `eq` filter keeps), or None
        when `field` is not one the store can find without reading every user."""
        if field not in INDEXED:
            return None
        found: list[Row] = list(self._index.get((field, value.lower()), []))
        found += [hit for block in self._blocks if (hit := block.find(field, value)) is not None]
        return found
