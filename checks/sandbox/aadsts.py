"""Entra's AADSTS errors: the codes the sandbox answers with, the AuthFailure a grant raises, and the error body."""

from __future__ import annotations

import datetime as dt
import uuid

from .httpd import Request, Response

# code -> (error, HTTP status, description template). Wording follows what Entra answers.
AADSTS: dict[int, tuple[str, int, str]] = {
    90002: ("invalid_tenant", 400,
            "Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing "
            "into the correct cloud. Check with your subscription administrator, this may happen if there are "
            "no active subscriptions for the tenant."),
    700016: ("unauthorized_client", 400,
             "Application with identifier '{app}' was not found in the directory '{tenant}'. This can happen if "
             "the application has not been installed by the administrator of the tenant or consented to by any "
             "user in the tenant. You may have sent your authentication request to the wrong tenant."),
    7000229: ("invalid_client", 400,
              "The client application {app} is missing service principal in the tenant {tenant}. See "
              "instructions here: https://go.microsoft.com/fwlink/?linkid=2225119"),
    7000112: ("unauthorized_client", 400, "Application '{app}'({name}) is disabled."),
    7000218: ("invalid_client", 401,
              "The request body must contain the following parameter: 'client_assertion' or 'client_secret'."),
    7000215: ("invalid_client", 401,
              "Invalid client secret provided. Ensure the secret being sent in the request is the client secret "
              "value, not the client secret ID, for a secret added to app '{app}'."),
    7000222: ("invalid_client", 401,
              "The provided client secret keys for app '{app}' are expired. Visit the Azure portal to create "
              "new keys for your app: https://aka.ms/NewClientSecret, or consider using certificate credentials "
              "for added security: https://aka.ms/certCreds."),
    700027: ("invalid_client", 401, "Client assertion failed signature validation. [Reason - {reason}]"),
    500011: ("invalid_resource", 400,
             "The resource principal named {resource} was not found in the tenant named {tenant}. This can "
             "happen if the application has not been installed by the administrator of the tenant or consented "
             "to by any user in the tenant. You might have sent your authentication request to the wrong tenant."),
    900144: ("invalid_request", 400, "The request body must contain the following parameter: '{parameter}'."),
    70003: ("unsupported_grant_type", 400, "The app requested an unsupported grant type '{grant}'."),
    1002012: ("invalid_scope", 400,
              "The provided value for scope {scope} is not valid. Client credential flows must have a scope "
              "value with /.default suffixed to the resource identifier (application ID URI)."),
    900561: ("invalid_request", 405, "The endpoint only accepts {allowed} requests. Received a {method} request."),
    90033: ("temporarily_unavailable", 503, "A transient error has occurred. Please try again."),
    70011: ("invalid_scope", 400, "The provided value for the input parameter 'scope' isn't valid. The scope "
                                  "{scope} isn't valid."),
    70016: ("authorization_pending", 400, "OAuth 2.0 device flow error. Authorization is pending. Continue polling."),
    70018: ("bad_verification_code", 400, "Invalid verification code due to User typing in wrong user code for "
                                           "device code flow. Authorization isn't approved."),
    70019: ("expired_token", 400, "Verification code expired. Have the user retry the sign-in."),
    65001: ("invalid_grant", 400, "The user or administrator has not consented to use the application with ID "
                                  "'{app}' named '{name}'. Send an interactive authorization request for this user "
                                  "and resource."),
    9002313: ("invalid_grant", 400, "Invalid request. Request is malformed or invalid."),
    700211: ("invalid_client", 400, "No matching federated identity record found for presented assertion issuer "
                                    "'{issuer}'. Please check your federated identity credential Subject, Audience "
                                    "and Issuer against the presented assertion. "
                                    "https://learn.microsoft.com/entra/workload-id/workload-identity-federation"),
    700212: ("invalid_client", 400, "No matching federated identity record found for presented assertion audience "
                                    "'{audience}'. Please check your federated identity credential Subject, Audience "
                                    "and Issuer against the presented assertion. "
                                    "https://learn.microsoft.com/entra/workload-id/workload-identity-federation"),
    700213: ("invalid_client", 400, "No matching federated identity record found for presented assertion subject "
                                    "'{subject}'. Please check your federated identity credential Subject, Audience "
                                    "and Issuer against the presented assertion. "
                                    "https://learn.microsoft.com/entra/workload-id/workload-identity-federation"),
    700024: ("invalid_client", 400, "Client assertion is not within its valid time range. Current time: {now}, "
                                    "assertion valid from {start}, expiry time of assertion {end}. Review the "
                                    "documentation at https://learn.microsoft.com/entra/identity-platform/"
                                    "certificate-credentials ."),
    50166: ("invalid_client", 400, "Request to External OIDC endpoint failed. {reason}"),
    50196: ("temporarily_unavailable", 429, "The server terminated an operation because it encountered a loop "
            "while processing a request."),
    50000: ("invalid_request", 400, "There was an error issuing a token or an issue with our sign-in service."),
    53003: ("interaction_required", 400, "Access has been blocked by Conditional Access policies. The access policy "
                                         "does not allow token issuance."),
}
# Fields some errors carry besides the usual seven (a Conditional Access block is "message_only").
_EXTRA: dict[int, dict[str, str]] = {53003: {"suberror": "message_only"}}


class AuthFailure(Exception):
    """A sign-in refused with an AADSTS `code`; `values` fill the blanks of the code's description."""

    def __init__(self, code: int, **values: str) -> None:
        super().__init__(code)
        self.code = code
        self.values = values


def describe(failure: AuthFailure) -> str:
    """An AuthFailure as Entra words it: AADSTSnnnn: text."""
    return f"AADSTS{failure.code}: {AADSTS[failure.code][2].format_map(_Blank(failure.values))}"


def error_response(request: Request, origin: str, code: int, status_override: int | None = None, /,
                   **values: str) -> Response:
    """Entra's error body for `code` (its status unless overridden), tied to the request's correlation id."""
    error, status, template = AADSTS[code]
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%SZ")
    trace_id = str(uuid.uuid4())
    correlation_id = request.header("client-request-id") or str(uuid.uuid4())
    text = template.format_map(_Blank(values))
    body = {
        "error": error,
        "error_description": f"AADSTS{code}: {text} Trace ID: {trace_id} Correlation ID: {correlation_id} "
                             f"Timestamp: {now}",
        "error_codes": [code],
        "timestamp": now,
        "trace_id": trace_id,
        "correlation_id": correlation_id,
        "error_uri": f"{origin}/error?code={code}",
        **_EXTRA.get(code, {}),
    }
    return Response.json(status_override or status, body, {"x-ms-request-id": trace_id})


class _Blank(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return ""
