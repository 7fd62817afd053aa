"""The sign-in page: a button for the OpenID provider, and the local account form unless turned off."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.views import LoginView
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.urls import reverse


class SignInView(LoginView):
    template_name = "registration/login.html"

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not settings.LOCAL_ACCOUNTS:
            return HttpResponseNotAllowed(["GET"], "Signing in with a password is turned off here.")
        return super().post(request, *args, **kwargs)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        next_url = self.get_redirect_url()
        context.update(
            local_accounts=settings.LOCAL_ACCOUNTS,
            oidc_enabled=settings.OIDC_ENABLED,
            oidc_provider_name=settings.OIDC_PROVIDER_NAME,
            oidc_sign_in_url=reverse("oidc_authentication_init")
            + (f"?{urlencode({'next': next_url})}" if next_url else ""),
        )
        return context
