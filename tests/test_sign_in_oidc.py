"""Sign-in with Microsoft Entra ID: mozilla-django-oidc (accounts/oidc.py) against the Entra ID
stand-in (tests/standins/aad.py), which serves the authorization code flow with PKCE, a JWKS and
RS256-signed ID tokens over HTTPS. Django's test client plays the browser here; the tests in
Chromium are in test_browser_sign_in.py.
"""

from __future__ import annotations

import logging
import secrets
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from accounts.models import ExternalIdentity

from .entra import configure_studio, sign_in_with_entra
from .support import STRONG_SECRET_KEY, start_django

pytestmark = pytest.mark.django_db

REFUSED = "did not complete, so you are not signed in"
User = get_user_model()


def signed_in_user(client: Client):
    response = client.get("/workspaces/")
    return response.wsgi_request.user if response.status_code == 200 else None


def test_a_first_sign_in_creates_a_user_without_a_password_linked_to_the_provider_subject(entra):
    ada = entra.person("Ada Lovelace", "ada@contoso.example", email="ada@contoso.example")
    client = Client()
    answer = sign_in_with_entra(client, entra, ada)
    assert (answer.status_code, answer["Location"]) == (302, "/")
    user = signed_in_user(client)
    assert (user.username, user.email, user.first_name) == (
        "ada@contoso.example",
        "ada@contoso.example",
        "Ada Lovelace",
    )
    assert not user.has_usable_password()
    assert not (user.is_staff or user.is_superuser)
    identity = ExternalIdentity.objects.get(user=user)
    assert (identity.issuer, identity.subject) == (
        f"{entra.aad.base_url}/{entra.tenant}/v2.0",
        ada.subject_for(entra.app.client_id),
    )

    again = Client()
    sign_in_with_entra(again, entra, ada)
    assert signed_in_user(again) == user
    assert User.objects.filter(external_identities__isnull=False).count() == 1


def test_the_sign_in_sends_a_pkce_s256_challenge_and_a_nonce(entra):
    ada = entra.person("Ada Lovelace", "ada@contoso.example")
    sign_in_with_entra(Client(), entra, ada)
    sent = entra.aad.authorize_queries[-1]
    assert sent["code_challenge_method"] == "S256"
    assert len(sent["code_challenge"]) == 43  # base64url of a SHA-256
    assert len(sent["nonce"]) >= 32 and len(sent["state"]) >= 32
    assert sent["scope"].split() == ["openid", "profile", "email"]


def test_the_sign_in_goes_on_to_the_page_asked_for(entra):
    ada = entra.person("Ada Lovelace", "ada@contoso.example")
    answer = sign_in_with_entra(Client(), entra, ada, next_url="/workspaces/")
    assert answer["Location"] == "/workspaces/"
    elsewhere = sign_in_with_entra(Client(), entra, ada, next_url="https://evil.example/")
    assert elsewhere["Location"] == "/"


def test_a_sign_in_with_the_email_of_a_local_account_never_signs_in_as_that_account(entra, django_user_model):
    """The provider's email (and username) can be chosen by whoever holds the account there:
    users are found by issuer and subject only."""
    local = django_user_model.objects.create_user(
        "grace@contoso.example", email="grace@contoso.example", password=secrets.token_urlsafe(12)
    )
    local.is_superuser = local.is_staff = True
    local.save()
    impostor = entra.person("Grace Hopper", "grace@contoso.example", email="grace@contoso.example")
    client = Client()
    sign_in_with_entra(client, entra, impostor)
    user = signed_in_user(client)
    assert user is not None and user != local
    assert user.username == "grace@contoso.example-2"
    assert not user.is_superuser
    assert not ExternalIdentity.objects.filter(user=local).exists()


@pytest.mark.parametrize("tampering", ["audience", "issuer", "unsigned", "hs256", "foreign_key", "expired", "nonce"])
def test_an_id_token_that_fails_a_check_is_refused_with_a_message_and_one_log_line(entra, tampering, caplog):
    ada = entra.person("Ada Lovelace", "ada@contoso.example")
    entra.aad.tamper_next_id_token = tampering
    client = Client()
    answer = sign_in_with_entra(client, entra, ada)
    assert (answer.status_code, answer["Location"]) == (302, "/accounts/login/")
    page = client.get("/accounts/login/").content.decode()
    assert REFUSED in page
    assert signed_in_user(client) is None
    assert not User.objects.exists()
    refusals = [record for record in caplog.records if record.name == "accounts.oidc"]
    assert len(refusals) == 1 and refusals[0].levelno == logging.WARNING
    assert refusals[0].exc_info is None and "Traceback" not in caplog.text


def test_the_provider_refuses_a_sign_in_without_pkce(entra, settings):
    """The stand-in requires PKCE, as Entra does for some app types: the studio must send it."""
    settings.OIDC_USE_PKCE = False
    ada = entra.person("Ada Lovelace", "ada@contoso.example")
    client = Client()
    sign_in_with_entra(client, entra, ada)
    assert signed_in_user(client) is None
    assert REFUSED in client.get("/accounts/login/").content.decode()


def test_a_callback_replayed_in_another_browser_is_refused(entra):
    ada = entra.person("Ada Lovelace", "ada@contoso.example")
    first = Client()
    started = first.get("/oidc/authenticate/")
    callback = entra.aad.sign_in(started["Location"], ada)
    first.get(callback)
    assert signed_in_user(first) is not None
    other = Client()
    other.get("/accounts/login/")  # a session of its own
    other.get(callback)
    assert signed_in_user(other) is None
    assert REFUSED in other.get("/accounts/login/").content.decode()


def test_an_admin_group_claim_makes_a_studio_administrator_and_leaving_the_group_ends_it(entra, settings):
    admins = "5e2c1f3a-0000-4000-8000-00000000ad01"
    settings.OIDC_ADMIN_GROUPS = [admins]
    ada = entra.person("Ada Lovelace", "ada@contoso.example", groups=["other-group", admins])
    bob = entra.person("Bob Builder", "bob@contoso.example", groups=["other-group"])
    for person in (ada, bob):
        sign_in_with_entra(Client(), entra, person)
    assert User.objects.get(username="ada@contoso.example").is_superuser
    assert User.objects.get(username="ada@contoso.example").is_staff
    assert not User.objects.get(username="bob@contoso.example").is_superuser

    ada.groups = ["other-group"]
    sign_in_with_entra(Client(), entra, ada)
    user = User.objects.get(username="ada@contoso.example")
    assert not (user.is_superuser or user.is_staff)


def test_without_admin_groups_configured_no_claim_grants_anything(entra, settings):
    settings.OIDC_ADMIN_GROUPS = []
    ada = entra.person("Ada Lovelace", "ada@contoso.example", groups=["admins", "Global Administrator"])
    sign_in_with_entra(Client(), entra, ada)
    user = User.objects.get(username="ada@contoso.example")
    assert not (user.is_superuser or user.is_staff)


def test_a_deactivated_user_cannot_sign_in_with_the_provider(entra):
    ada = entra.person("Ada Lovelace", "ada@contoso.example")
    sign_in_with_entra(Client(), entra, ada)
    User.objects.filter(username="ada@contoso.example").update(is_active=False)
    client = Client()
    sign_in_with_entra(client, entra, ada)
    assert signed_in_user(client) is None


def test_the_sign_in_page_offers_the_provider_and_keeps_the_page_asked_for(entra):
    page = Client().get("/accounts/login/?next=/workspaces/").content.decode()
    assert (
        '<a class="button primary" href="/oidc/authenticate/?next=%2Fworkspaces%2F">Sign in with Microsoft</a>' in page
    )
    assert 'name="password"' in page


@pytest.fixture
def local_accounts_off(entra, settings):
    configure_studio(settings, entra, local_accounts=False)


def test_with_local_accounts_off_the_sign_in_page_has_no_password_form_and_refuses_passwords(
    local_accounts_off, django_user_model
):
    password = secrets.token_urlsafe(12)
    django_user_model.objects.create_user("carol", password=password)
    client = Client()
    page = client.get("/accounts/login/").content.decode()
    assert "Sign in with Microsoft" in page
    assert 'name="password"' not in page
    refused = client.post("/accounts/login/", {"username": "carol", "password": password})
    assert refused.status_code == 405
    assert signed_in_user(client) is None
    via_admin = client.post("/admin/login/?next=/admin/", {"username": "carol", "password": password})
    assert (via_admin.status_code, via_admin["Location"]) == (302, "/accounts/login/?next=/admin/")
    assert signed_in_user(client) is None


def test_turning_local_accounts_off_ends_the_sessions_signed_in_with_a_password(entra, settings, django_user_model):
    password = secrets.token_urlsafe(12)
    django_user_model.objects.create_user("carol", password=password)
    client = Client()
    assert client.post("/accounts/login/", {"username": "carol", "password": password}).status_code == 302
    assert signed_in_user(client) is not None
    configure_studio(settings, entra, local_accounts=False)
    assert signed_in_user(client) is None


def test_signing_out_of_a_provider_session_goes_to_the_provider_end_session_and_back(entra):
    ada = entra.person("Ada Lovelace", "ada@contoso.example")
    client = Client()
    sign_in_with_entra(client, entra, ada)
    out = client.post("/accounts/logout/")
    target = urlsplit(out["Location"])
    assert (
        f"{target.scheme}://{target.netloc}{target.path}" == f"{entra.aad.base_url}/{entra.tenant}/oauth2/v2.0/logout"
    )
    query = parse_qs(target.query)
    assert query["post_logout_redirect_uri"] == ["http://testserver/accounts/login/"]
    assert query["id_token_hint"][0] in entra.aad.id_tokens
    assert signed_in_user(client) is None


def test_signing_out_of_a_password_session_goes_to_the_sign_in_page(entra, django_user_model):
    password = secrets.token_urlsafe(12)
    django_user_model.objects.create_user("carol", password=password)
    client = Client()
    client.post("/accounts/login/", {"username": "carol", "password": password})
    out = client.post("/accounts/logout/")
    assert out["Location"] == "/accounts/login/"
    assert signed_in_user(client) is None


def test_the_provider_views_are_not_found_when_sign_in_with_a_provider_is_off():
    assert Client().get("/oidc/authenticate/").status_code == 404
    assert Client().get("/oidc/callback/?code=x&state=y").status_code == 404


def start_with(**env: str):

    return start_django(
        SECRET_KEY=STRONG_SECRET_KEY, DATASTORE_ENCRYPTION_KEYS="UwXZtzat7MkjDoMturhRfA8J-HQFoVe5bOorNg66WjE=", **env
    )


def test_start_up_refuses_an_incomplete_or_plain_http_provider_configuration():
    missing = start_with(OIDC_RP_CLIENT_ID="app")
    assert missing.returncode != 0
    assert (
        "needs OIDC_RP_CLIENT_SECRET, OIDC_OP_ISSUER, OIDC_OP_AUTHORIZATION_ENDPOINT, "
        "OIDC_OP_TOKEN_ENDPOINT, OIDC_OP_JWKS_ENDPOINT too" in missing.stderr
    )
    base = "https://login.microsoftonline.com/tenant"
    plain = start_with(
        OIDC_RP_CLIENT_ID="app",
        OIDC_RP_CLIENT_SECRET="s",
        OIDC_OP_ISSUER=f"{base}/v2.0",
        OIDC_OP_AUTHORIZATION_ENDPOINT=f"{base}/oauth2/v2.0/authorize",
        OIDC_OP_TOKEN_ENDPOINT="http://login.example/token",
        OIDC_OP_JWKS_ENDPOINT=f"{base}/discovery/v2.0/keys",
    )
    assert plain.returncode != 0
    assert "OIDC_OP_TOKEN_ENDPOINT must be https:// URLs" in plain.stderr
    nobody = start_with(LOCAL_ACCOUNTS="false")
    assert nobody.returncode != 0
    assert "nobody could sign in" in nobody.stderr
