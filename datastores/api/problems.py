"""RFC 9457 problem details: every error of /api/v1/ is answered here, in one place.

A storage error keeps its status, message and form field; a validation error names the
field at fault with the message the form gives for the same input; a missing or refused
token is 401 with `WWW-Authenticate` and the same body whatever the reason.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse

from ..logs import RedactSecrets

logger = logging.getLogger(__name__)
logger.addFilter(RedactSecrets())

PROBLEM_TYPE = "application/problem+json"
BEARER_CHALLENGE = 'Bearer realm="Datastore Studio"'


def problem(
    request: HttpRequest,
    status: int,
    detail: str,
    *,
    field: str | None = None,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> JsonResponse:
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "instance": request.path,
    }
    if field:
        body["field"] = field
    if errors:
        body["errors"] = errors
    response = JsonResponse(body, status=status, content_type=PROBLEM_TYPE)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def unauthorized(request: HttpRequest) -> HttpResponse:
    """The one answer to a missing, malformed, unknown, expired or revoked token."""
    return problem(
        request,
        401,
        "Send a valid access token: Authorization: Bearer <token>.",
        headers={"WWW-Authenticate": BEARER_CHALLENGE},
    )


def field_problem(request: HttpRequest, errors: dict[str, list[str]], status: int = 400) -> HttpResponse:
    """Validation errors by field, the first one named as `field` (RFC 9457 extension members)."""
    listed = [{"field": name, "message": message} for name, messages in errors.items() for message in messages]
    field, message = (listed[0]["field"], listed[0]["message"]) if listed else (None, "The request is not valid.")
    return problem(request, status, message, field=field, errors=listed)
