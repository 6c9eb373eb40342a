"""Graph v1.0 URLs: the entity sets served, the permissions each needs, and /v1.0/<set>[/{key}][/<navigation>]."""

from __future__ import annotations

import re
from dataclasses import dataclass

from . import conditionalaccess, graphusers
from .graphquery import GraphError, bad_request

_GUID = re.compile(r"[0-9a-fA-F]{8}(?:-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}")
_HEAD_SEGMENT = re.compile(r"([A-Za-z]+)(?:\(appId='([^']*)'\))?")
_DIRECTORY = ("Directory.Read.All", "Directory.ReadWrite.All")
_APPLICATION = frozenset({"Application.Read.All", "Application.ReadWrite.All", *_DIRECTORY})
NAV_LINK = {"appRoleAssignments": "principalId", "appRoleAssignedTo": "resourceId"}
POLICIES = "identity/conditionalAccess/policies"


@dataclass(frozen=True)
class EntitySet:
    """An entity set Graph serves: its type, the permissions that read it, an appId key, its navigations; the type's
    properties when declared (else those of the objects served), what comes back without $select (empty: all), and
    how a key that is not a GUID finds an object (by that property; None: every key is a GUID)."""

    type_name: str
    roles: frozenset[str]
    alternate_key: bool = False
    navigations: tuple[str, ...] = ()
    properties: frozenset[str] = frozenset()
    default_select: tuple[str, ...] = ()
    name_key: str | None = None


SETS = {
    "applications": EntitySet("application", _APPLICATION, alternate_key=True),
    "servicePrincipals": EntitySet("servicePrincipal", _APPLICATION, True, tuple(NAV_LINK)),
    "domains": EntitySet("domain", frozenset({"Domain.Read.All", "Domain.ReadWrite.All", *_DIRECTORY}),
                         name_key="id"),
    "organization": EntitySet(
        "organization", frozenset({"Organization.Read.All", "Organization.ReadWrite.All", *_DIRECTORY})),
    "users": EntitySet("user", frozenset({"User.Read.All", "User.ReadWrite.All", *_DIRECTORY}),
                       properties=graphusers.USER_PROPERTIES, default_select=graphusers.DEFAULT_PROPERTIES,
                       name_key="userPrincipalName"),
    # Directory.Read.All does not read Conditional Access policies: Policy.Read.All is the least privileged role.
    POLICIES: EntitySet("conditionalAccessPolicy",
                        frozenset({"Policy.Read.All", "Policy.ReadWrite.ConditionalAccess"}),
                        properties=conditionalaccess.PROPERTIES),
}


@dataclass(frozen=True)
class Route:
    """Where a URL points: an entity set, maybe one object in it (found by `key_field`), maybe a navigation from it."""

    entity_set: str
    key: str | None = None
    key_field: str = "id"
    navigation: str | None = None


def _segment_error(segment: str) -> GraphError:
    return GraphError(400, "BadRequest", f"Resource not found for the segment '{segment}'.")


def _head(rest: list[str]) -> tuple[str, str | None, list[str]]:
    """The entity set the path names (one segment, or several as identity/conditionalAccess/policies), the appId
    of an alternate key on it, and the segments after it."""
    for name in SETS:
        parts = name.split("/")
        if len(parts) > 1 and rest[:len(parts)] == parts:
            return name, None, rest[len(parts):]
    head = _HEAD_SEGMENT.fullmatch(rest[0])
    if head is None or head.group(1) not in SETS or (head.group(2) is not None
                                                      and not SETS[head.group(1)].alternate_key):
        raise _segment_error(rest[0])
    return head.group(1), head.group(2), rest[1:]


def parse_route(path: str) -> Route:
    """Parse /v1.0/<set>[/{id} | /{name} | (appId='…')][/<navigation>]."""
    segments = path.split("/")[1:]
    if segments and segments[-1] == "" and len(segments) > 1:
        segments.pop()
    if not segments or segments[0] != "v1.0":
        raise GraphError(400, "BadRequest", f"Invalid version: {segments[0] if segments else ''}")
    name, app_id, after = _head(segments[1:] or [""])
    spec = SETS[name]
    key: str | None = app_id
    key_field, tail = "appId", after
    if app_id is None:
        key, tail = (after[0] if after else None), after[1:]
        key_field = "id" if key is None or _GUID.fullmatch(key) else spec.name_key or ""
        if not key_field:
            raise bad_request(f"Invalid object identifier '{key}'.")
    for index, segment in enumerate(tail):
        if index > 0 or segment not in spec.navigations:
            raise _segment_error(segment)
    return Route(name, key, key_field, tail[0] if tail else None)
