"""Bodies of requests that are not signed in: refused before anything reads them."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.urls import reverse


def declared_length(request: HttpRequest) -> int | None:
    """The body's declared length; None when it has one of unknown length (chunked)."""
    if "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower():
        return None
    try:
        return max(0, int(request.META.get("CONTENT_LENGTH") or 0))
    except ValueError:
        return None


class AnonymousBodyLimitMiddleware:
    # An API request signed with an accepted access token is signed in, only not by session:
    # its body is the API's business (datastores/api/limits.py bounds it).
    """A request that is not signed in may carry a body only to a sign-in form, and at most
    ANONYMOUS_BODY_MAX_BYTES; anything else is answered 413 before its body is read (before
    the CSRF check or a view would parse it, or spool a multipart upload to disk)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.user.is_authenticated and not self.api_token_accepted(request):
            length = declared_length(request)
            sign_in = request.path in {reverse("login"), reverse("admin:login")}
            allowed = settings.ANONYMOUS_BODY_MAX_BYTES if sign_in else 0
            if length is None or length > allowed:
                # (A WSGI app may not set Connection: close; the server drops the unread body.)
                return HttpResponse(
                    "Sign in first: a request that is not signed in cannot carry a body this large.",
                    status=413,
                    content_type="text/plain; charset=utf-8",
                )
        return self.get_response(request)

    @staticmethod
    def api_token_accepted(request: HttpRequest) -> bool:
        from .api.limits import API_PREFIXES
        from .tokens import bearer_of, token_from_bearer

        return request.path.startswith(API_PREFIXES) and token_from_bearer(bearer_of(request)) is not None
