"""The health check at /healthz, answered by a middleware that runs before all others.

The container's probe calls http://127.0.0.1:<port>/healthz. Under production settings
Django would refuse that Host (ALLOWED_HOSTS, with a traceback logged on every probe) or
redirect it to https (SECURE_SSL_REDIRECT), so the answer is given here, before
SecurityMiddleware and CommonMiddleware look at the request. It reads nothing from the
request but its path and method, so any Host gets the same answer.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.db import DatabaseError, connections
from django.http import HttpRequest, HttpResponse, JsonResponse

HEALTH_PATH = "/healthz"

logger = logging.getLogger("studio.health")


def database_answers() -> bool:
    """True when the app database runs a query; a failure is logged in one line, without a traceback."""
    connection = connections["default"]
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as error:
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else ""
        logger.warning("Health check: the database does not answer (%s: %s)", type(error).__name__, first_line)
        connection.close_if_unusable_or_obsolete()
        return False
    return True


def health_response(request: HttpRequest) -> HttpResponse:
    if request.method not in ("GET", "HEAD"):
        return HttpResponse(status=405, headers={"Allow": "GET, HEAD"})
    healthy = database_answers()
    response = JsonResponse(
        {"status": "ok"} if healthy else {"status": "unavailable", "database": "not answering"},
        status=200 if healthy else 503,
    )
    response["Cache-Control"] = "no-store"
    return response


class HealthCheckMiddleware:
    """Answers /healthz itself, whatever ALLOWED_HOSTS and the HTTPS redirect say; first in MIDDLEWARE."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info == HEALTH_PATH:
            return health_response(request)
        return self.get_response(request)
