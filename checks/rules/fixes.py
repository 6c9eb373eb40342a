"""What the checks' fixes share: the admin-consent URL, the portal paths people click through, a new secret, and
the knowledge base's cause and fix for an error xtcheck recognised."""

from __future__ import annotations

from collections.abc import Sequence

from ..knowledge import lookup
from ..model import Remediation, RunIds
from .sources import PROFILE_FORM_ISSUE


def consent_url(ids: RunIds) -> str:
    return f"{ids.login_host}/{ids.exchange_tenant}/adminconsent?client_id={ids.client_id}"


# What full_access_as_app grants, and how to narrow it (Exchange's application RBAC page and the Graph page on
# limiting mailbox access).
FULL_ACCESS_REACH = (
    "full_access_as_app lets the app read and change every mailbox in the Exchange tenant through EWS. To confine it "
    "to the mailboxes Dynamics syncs, add an Application Access Policy (New-ApplicationAccessPolicy -AppId <client "
    "id> -PolicyScopeGroupId <a mail-enabled group of those mailboxes> -AccessRight RestrictAccess); Microsoft is "
    "replacing those by RBAC for Applications, whose grants add to Entra's instead of narrowing them.")
SCOPING = "https://learn.microsoft.com/exchange/permissions-exo/application-rbac"


def consent_risks(ids: RunIds, *, graph_roles: bool = False) -> tuple[str, ...]:
    """What an admin consent does besides granting, and who may give it."""
    who = ("a Privileged Role Administrator (or Global Administrator) of tenant B: Cloud Application and Application "
           "Administrators cannot consent to Microsoft Graph application roles" if graph_roles else
           "an administrator of tenant B who may consent to application permissions (Cloud Application "
           "Administrator, Application Administrator, Privileged Role Administrator or Global Administrator)")
    return (f"Who consents: {who}.",
            f"The admin-consent URL grants, tenant-wide, every permission the app {ids.client_id} lists in its API "
            "permissions, and granting tenant-wide admin consent may revoke permissions that have already been "
            "granted tenant-wide for that application: compare the app's API permissions with what it holds first.")


def enterprise_app(ids: RunIds, tail: str) -> str:
    return (f"Microsoft Entra admin center ({ids.portal_host}), signed in to tenant {ids.exchange_tenant}: "
            f"Enterprise applications > the app with client id {ids.client_id} > {tail}")


def app_registration(ids: RunIds, tail: str) -> str:
    return (f"Microsoft Entra admin center ({ids.portal_host}), signed in to the app's home tenant {ids.home_tenant}: "
            f"App registrations > All applications > the app with client id {ids.client_id} > {tail}")


def profiles(ids: RunIds, tail: str) -> str:
    return (f"Power Platform admin center > Environments > the environment at {ids.environment_url} > Settings > "
            f"Email > Server profiles > {tail} (or open {ids.environment_url}/main.aspx?pagetype=entitylist"
            "&etn=emailserverprofile)")


def mailboxes(ids: RunIds, tail: str) -> str:
    return (f"Power Platform admin center > Environments > the environment at {ids.environment_url} > Settings > "
            f"Email > Mailboxes > Active Mailboxes > select the mailbox > {tail} (or open "
            f"{ids.environment_url}/main.aspx?pagetype=entitylist&etn=mailbox)")


def profile_name(ids: RunIds) -> str:
    return ids.profile or "the cross-tenant profile"


def rotate_secret(ids: RunIds) -> Remediation:
    """A new secret for the app, then the profile updated with its value (the form hides the secret field)."""
    name = f"sss-{ids.now.year}" if ids.now else "sss-new"
    return Remediation(
        f"Add a new client secret to the app {ids.client_id}, enter its value in the email server profile, and "
        "remove the old secret once sync runs on the new one.",
        steps=(f"Sign in to the app's home tenant {ids.home_tenant} and add a secret (App registrations > the app > "
               "Certificates & secrets > New client secret); copy its Value, not its Secret ID.",
               "Paste the new value into the email server profile's client secret. The profile form hides that "
               f"field once saved (known issue: {PROFILE_FORM_ISSUE}); if you cannot reach it, create a new "
               "cross-tenant profile with the same values and move the mailboxes to it.",
               "Run Test & Enable on one mailbox, then on all of them; delete the old secret afterwards."),
        commands=(f"az login --tenant {ids.home_tenant} --allow-no-subscriptions",
                  f"az ad app credential reset --id {ids.client_id} --append --display-name {name} --years 1"),
    )


def known_fix(known_cause: str | None, steps: Sequence[str] = ()) -> Remediation | None:
    """The knowledge base's cause and fix for an error xtcheck recognised (its key in the finding's evidence), ahead
    of the check's own steps; None when the finding names no known cause."""
    entry = lookup(known_cause) if known_cause else None
    if entry is None:
        return None
    return Remediation(entry.fix, steps=(f"Known cause ({entry.key}, {entry.title}): {entry.cause}", *steps),
                       links=(entry.link,))
