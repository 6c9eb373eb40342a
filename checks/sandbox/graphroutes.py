"""Graph v1.0 URLs: the entity sets served, the permissions each needs, and /v1.0/<set>[/{id}][/<navigation>]."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .graphquery import GraphError, bad_request

_GUID = re.compile(r"[0-9a-fA-F]{8}(?:-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}")
_HEAD_SEGMENT = re.compile(r"([A-Za-z]+)(?:\(appId='([^']*)'\))?")
_DIRECTORY = ("Directory.Read.All", "Directory.ReadWrite.All")
_APPLICATION = frozenset({"Application.Read.All", "Application.ReadWrite.All", *_DIRECTORY})
NAV_LINK = {"appRoleAssignments": "principalId", "appRoleAssignedTo": "resourceId"}


@dataclass(frozen=True)
class EntitySet:
    """An entity set Graph serves: its type, the permissions that read it, an appId key, its navigations."""

    type_name: str
    roles: frozenset[str]
    alternate_key: bool = False
    navigations: tuple[str, ...] = ()


SETS = {
    "applications": EntitySet("application", _APPLICATION, alternate_key=True),
    "servicePrincipals": EntitySet("servicePrincipal", _APPLICATION, True, tuple(NAV_LINK)),
    "domains": EntitySet("domain", frozenset({"Domain.Read.All", "Domain.ReadWrite.All", *_DIRECTORY})),
    "organization": EntitySet(
        "organization", frozenset({"Organization.Read.All", "Organization.ReadWrite.All", *_DIRECTORY})),
}


@dataclass(frozen=True)
class Route:
    """Where a URL points: an entity set, maybe one object in it (by id or appId), maybe a navigation from it."""

    entity_set: str
    key: str | None = None
    by_app_id: bool = False
    navigation: str | None = None


def _segment_error(segment: str) -> GraphError:
    return GraphError(400, "BadRequest", f"Resource not found for the segment '{segment}'.")


def parse_route(path: str) -> Route:
    """Parse /v1.0/<set>[/{id} | (appId='…')][/<navigation>]."""
    segments = path.split("/")[1:]
    if segments and segments[-1] == "" and len(segments) > 1:
        segments.pop()
    if not segments or segments[0] != "v1.0":
        raise GraphError(400, "BadRequest", f"Invalid version: {segments[0] if segments else ''}")
    rest = segments[1:] or [""]
    head = _HEAD_SEGMENT.fullmatch(rest[0])
    if head is None or head.group(1) not in SETS or (head.group(2) is not None
                                                      and not SETS[head.group(1)].alternate_key):
        raise _segment_error(rest[0])
    name, app_id = head.group(1), head.group(2)
    key, tail = (app_id, rest[1:]) if app_id is not None else (rest[1] if len(rest) > 1 else None, rest[2:])
    if key is not None and name != "domains" and not _GUID.fullmatch(key):
        raise bad_request(f"Invalid object identifier '{key}'.")
    for index, segment in enumerate(tail):
        if index > 0 or segment not in SETS[name].navigations:
            raise _segment_error(segment)
    return Route(name, key, app_id is not None, tail[0] if tail else None)
