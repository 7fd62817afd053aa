"""Short-lived access tokens through the managed-identity protocol (App Service's), so that an
unmodified `DefaultAzureCredential` in a training job gets a token for the studio:

    IDENTITY_ENDPOINT=https://<studio>/api/identity/token
    IDENTITY_HEADER=<a personal access token>

azure-identity then sends `GET <IDENTITY_ENDPOINT>?api-version=2019-08-01&resource=<studio URL>`
with the header `X-IDENTITY-HEADER` and gets `{"access_token", "expires_on", "resource", "token_type"}`.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_GET

from .. import access, services, tokens
from .limits import too_many


def _refused(status: int, error: str, description: str) -> JsonResponse:
    return JsonResponse({"error": error, "error_description": description}, status=status)


@login_not_required
@require_GET
def identity_token(request: HttpRequest) -> HttpResponse:
    raw = request.headers.get("X-Identity-Header", "").strip()
    # Only a personal access token gets an access token: an access token cannot renew itself.
    token = tokens.token_from_bearer(raw) if raw.startswith(tokens.PERSONAL_PREFIX) else None
    if token is None:
        if too_many(
            request,
            group="api.refused",
            key=access.client_address(request) or "-",
            rate=settings.API_REFUSED_RATE_LIMIT,
        ):
            return _refused(429, "too_many_requests", "Too many refused requests; try again in a minute.")
        return _refused(401, "invalid_client", "Set IDENTITY_HEADER to a valid personal access token of this studio.")
    if too_many(request, group="api.token", key=str(token.pk), rate=settings.API_RATE_LIMIT):
        return _refused(429, "too_many_requests", "Too many requests; try again in a minute.")
    resource = (request.GET.get("resource") or "").strip()
    if not resource or len(resource) > 2000:
        return _refused(400, "invalid_request", "Name the resource (the studio's URL) in ?resource=.")
    actor = tokens.actor_for(request, token)
    services.token_used(actor=actor, token=token)
    grant = services.access_token_issue(actor=actor, token=token, resource=resource)
    return JsonResponse(
        {
            "access_token": grant.access_token,
            "expires_on": int(grant.expires_on.timestamp()),
            "resource": resource,
            "token_type": "Bearer",
        }
    )
