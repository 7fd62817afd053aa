"""Rate limits: sign-in (django-axes) and the requests that reach a storage service on a
user's behalf (django-ratelimit), per signed-in user and per client address, each answered
with 429 and how long to wait."""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any

from axes.helpers import get_cool_off
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django_ratelimit.core import get_usage

from .access import client_address

RETRY_AFTER = "Retry-After"


def _address_key(group: str, request: HttpRequest) -> str:
    return client_address(request) or ""


def too_many(request: HttpRequest, message: str, seconds: int) -> HttpResponse:
    """429 with the message on the page (or in the part htmx swaps in), and Retry-After."""
    seconds = max(1, math.ceil(seconds))
    text = f"{message} Try again in {seconds} seconds."
    template = "rate_limited.html" + ("#message" if getattr(request, "htmx", False) else "")
    response = render(request, template, {"message": text}, status=429)
    response[RETRY_AFTER] = str(seconds)
    if getattr(request, "htmx", False):
        response["HX-Reswap"] = "innerHTML"  # inside the target, which keeps its id (as errors.py does)
    return response


def sign_in_locked_out(request: HttpRequest, original_response: Any = None, credentials: Any = None) -> HttpResponse:
    """django-axes' answer once a username or an address has failed AXES_FAILURE_LIMIT times."""
    cool_off = get_cool_off(request)
    seconds = cool_off.total_seconds() if cool_off else 3600
    return too_many(request, "Too many failed sign-ins for this username or from this address.", seconds)


def limit_storage_checks(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """For views whose POST may reach a storage service: at most STORAGE_CHECK_RATE_PER_USER
    per user and STORAGE_CHECK_RATE_PER_ADDRESS per client address (django-ratelimit counts)."""

    @functools.wraps(view)
    def limited(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.method == "POST":
            for key, rate, who in (
                ("user_or_ip", settings.STORAGE_CHECK_RATE_PER_USER, "from this account"),
                (_address_key, settings.STORAGE_CHECK_RATE_PER_ADDRESS, "from this address"),
            ):
                usage = get_usage(request, group="storage-checks", key=key, rate=rate, method="POST", increment=True)
                if usage and usage["should_limit"]:
                    return too_many(
                        request, f"Too many requests that reach a storage service {who}.", usage["time_left"]
                    )
        return view(request, *args, **kwargs)

    return limited
