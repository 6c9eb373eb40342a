"""Where a SARIF result is: nothing xtcheck judges is a file, so each finding's subject is a logical location (a
tenant, the app, its service principal in tenant B, the environment, the profile, a mailbox) under its parents."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from ..model import Finding, Run

_SERVICE_PRINCIPAL_AREAS = frozenset({"EXO", "GRA", "EWS"})


def host(url: str) -> str:
    try:
        found = urlsplit(url).hostname or ""
    except ValueError:
        found = ""
    return found or url.strip().strip("/")



@dataclass(frozen=True)
class Place:
    fqn: str
    name: str
    kind: str
    parent: str | None = None


class Places:
    """Where each finding is, as a chain of logical locations from its root; remembers every place it hands out."""

    def __init__(self, run: Run) -> None:
        self.run = run
        self.seen: dict[str, Place] = {}
        name = host(run.environment_url) or "environment"
        self.tenant_a = Place("tenantA", run.dynamics_tenant or "tenant A", "tenant")
        self.tenant_b = Place("tenantB", run.exchange_tenant or "tenant B", "tenant")
        self.environment = Place(f"tenantA/{name}", name, "environment", self.tenant_a.fqn)

    def chain(self, finding: Finding) -> list[Place]:
        chain = self._chain(finding)
        for place in chain:
            self.seen.setdefault(place.fqn, place)
        return chain

    def table(self) -> list[Place]:
        """Every place handed out, by fully qualified name: a parent always comes before its children."""
        return [self.seen[fqn] for fqn in sorted(self.seen)]

    def _chain(self, finding: Finding) -> list[Place]:
        area, subject = finding.area, finding.subject
        if area == "APP":
            return [self._app(subject)]
        if area in _SERVICE_PRINCIPAL_AREAS:
            return self._in_tenant_b(subject)
        if area == "PRF":
            return [self.tenant_a, self.environment, self._profile(subject.removeprefix("profile ").strip())]
        if area == "MBX":
            return self._mailbox(subject)
        return [Place(f"other/{area}/{subject}", subject, "resource")]

    def _in_tenant_b(self, subject: str) -> list[Place]:
        """The app's service principal in tenant B, or the tenant itself (discovery, its organization config)."""
        if not subject.startswith("app "):
            return [self.tenant_b]
        client = subject.removeprefix("app ").strip() or self.run.client_id or "app"
        return [self.tenant_b, Place(f"tenantB/servicePrincipal/{client}", client, "servicePrincipal",
                                      self.tenant_b.fqn)]

    def _mailbox(self, subject: str) -> list[Place]:
        profile = self._profile("")
        parents = [self.tenant_a, self.environment, profile]
        if subject == "mailboxes":  # about every mailbox in scope: the profile they hang on
            return parents
        return [*parents, Place(f"{profile.fqn}/mailbox/{subject}", subject, "mailbox", profile.fqn)]

    def _app(self, subject: str) -> Place:
        client = (subject.removeprefix("app ").strip() if subject.startswith("app ") else "") or self.run.client_id
        return Place(f"app/{client}" if client else "app", client or "app", "app")

    def _profile(self, name: str) -> Place:
        if not name or name == "email server profile":
            name = self.run.profile or "email server profile"
        return Place(f"{self.environment.fqn}/profile/{name}", name, "profile", self.environment.fqn)


def logical_location(place: Place, position: Mapping[str, int]) -> dict[str, Any]:
    location: dict[str, Any] = {"name": place.name, "fullyQualifiedName": place.fqn, "kind": place.kind}
    if place.parent is not None:
        location["parentIndex"] = position[place.parent]
    return location
