"""Limits of the API: request bodies over API_MAX_BODY_BYTES are refused before they are read
(file uploads, which stream, excepted), and token use is rate limited (django-ratelimit)."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django_ratelimit.core import is_ratelimited

from .problems import problem

API_PREFIXES = ("/api/", "/subscriptions/")


def streams_its_body(request: HttpRequest) -> bool:
    """A file upload (PUT …/files/<path>), whose body goes to storage chunk by chunk."""
    return request.method == "PUT" and request.path.startswith("/api/v1/") and "/files/" in request.path


class BodyLimitMiddleware:
    """Refuse an API request whose body is over the limit, from its Content-Length alone."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith(API_PREFIXES) and not streams_its_body(request):
            try:
                length = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = 0
            if length > settings.API_MAX_BODY_BYTES:
                return problem(
                    request, 413, f"The request body is over {settings.API_MAX_BODY_BYTES} bytes; it was not read."
                )
        return self.get_response(request)


def too_many(request: HttpRequest, *, group: str, key: str, rate: str) -> bool:
    """Count one request against `rate` for `key` (a token's id, a client address)."""
    return is_ratelimited(request, group=group, key=lambda _group, _request: key, rate=rate, increment=True)
