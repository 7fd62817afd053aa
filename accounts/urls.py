"""Sign-in and sign-out URLs. The OpenID views need no login (LoginRequiredMiddleware would send
the provider's redirect back to the sign-in page)."""

from django.contrib.auth.decorators import login_not_required
from django.urls import path
from django.views.generic import RedirectView
from mozilla_django_oidc.views import OIDCLogoutView

from . import oidc, views

urlpatterns = [
    path("accounts/login/", views.SignInView.as_view(), name="login"),
    # Sign-out for every session; one that signed in with the provider also ends its session there.
    path("accounts/logout/", login_not_required(OIDCLogoutView.as_view()), name="logout"),
    path("oidc/authenticate/", login_not_required(oidc.AuthenticateView.as_view()), name="oidc_authentication_init"),
    path("oidc/callback/", login_not_required(oidc.CallbackView.as_view()), name="oidc_authentication_callback"),
    # One sign-in page: the admin's own would take a password even with local accounts off.
    path("admin/login/", login_not_required(RedirectView.as_view(pattern_name="login", query_string=True))),
]
