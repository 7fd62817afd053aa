"""Sign-in with Microsoft Entra ID in real headless Chromium: the studio (mozilla-django-oidc)
against the Entra ID stand-in (tests/standins/aad.py), which serves the authorization code flow
with PKCE, a JWKS and RS256-signed ID tokens over HTTPS.

The stand-in's certificate comes from a throwaway CA that Chromium does not know, so these
browser contexts ignore certificate errors; the studio itself checks the stand-in's certificate
(REQUESTS_CA_BUNDLE, see the `entra` fixture).
"""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import Browser, Page, Route, expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

REFUSED = "did not complete, so you are not signed in"


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {**browser_context_args, "ignore_https_errors": True}


@pytest.fixture
def studio(entra, live_server):
    entra.allow_redirects_to(live_server.url)
    return live_server.url


@pytest.fixture
def ada(entra):
    return entra.person("Ada Lovelace", "ada@contoso.example", email="ada@contoso.example")


def sign_in(page: Page, studio: str, person_name: str) -> None:
    page.goto(f"{studio}/")
    page.get_by_role("link", name="Sign in with Microsoft").click()
    expect(page.get_by_role("heading", name="Pick an account")).to_be_visible()
    page.get_by_role("button", name=f"Sign in as {person_name}").click()


def test_a_first_sign_in_lands_on_an_empty_workspace_list_and_signing_out_ends_both_sessions(
    page: Page, studio, entra, ada
):
    sign_in(page, studio, "Ada Lovelace")
    expect(page.get_by_role("heading", name="Workspaces", exact=True)).to_be_visible()
    expect(page.get_by_text("You are signed in, but no workspace has been shared with you yet")).to_be_visible()
    expect(page.locator(".topbar-user")).to_contain_text("ada@contoso.example")
    assert get_user_model().objects.get().username == "ada@contoso.example"

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in to Datastore Studio")).to_be_visible()
    assert page.url == f"{studio}/accounts/login/"
    assert entra.aad.sign_outs == [ada]  # the provider's session ended too
    page.goto(f"{studio}/workspaces/")
    expect(page.get_by_role("link", name="Sign in with Microsoft")).to_be_visible()
    assert page.url.startswith(f"{studio}/accounts/login/")


def test_a_callback_with_a_state_this_browser_never_sent_is_refused(browser: Browser, page: Page, studio, entra, ada):
    """Login CSRF: an attacker signs in as themselves, stops at the redirect back and sends the
    victim that link (their code, their state). The victim's browser must not be signed in."""
    attacker = browser.new_context(ignore_https_errors=True)
    held: list[str] = []

    def hold_the_redirect_back(route: Route) -> None:
        if route.request.method != "POST":
            return route.continue_()
        # The provider's answer to the chosen account is the redirect back: keep it, never follow it.
        held.append(route.fetch(max_redirects=0).headers["location"])
        route.abort()

    try:
        attacker_page = attacker.new_page()
        attacker_page.route(f"{entra.aad.base_url}/**/oauth2/v2.0/authorize*", hold_the_redirect_back)
        sign_in(attacker_page, studio, "Ada Lovelace")
        for _tick in range(100):  # the handler runs while Playwright waits
            if held:
                break
            attacker_page.wait_for_timeout(100)
    finally:
        attacker.close()
    callback = held[0]
    assert callback.startswith(f"{studio}/oidc/callback/?") and "state=" in callback

    page.goto(f"{studio}/accounts/login/")  # the victim has a session of their own
    page.goto(callback)
    expect(page.get_by_text(REFUSED)).to_be_visible()
    assert page.url == f"{studio}/accounts/login/"
    page.goto(f"{studio}/workspaces/")
    assert page.url.startswith(f"{studio}/accounts/login/")
    assert not get_user_model().objects.exists()


@pytest.mark.parametrize(
    "tampering", ["nonce", "expired", "foreign_key"], ids=["wrong nonce", "expired", "wrongly signed"]
)
def test_an_id_token_with_a_wrong_nonce_expired_or_wrongly_signed_is_refused(page: Page, studio, entra, ada, tampering):
    entra.aad.tamper_next_id_token = tampering
    sign_in(page, studio, "Ada Lovelace")
    expect(page.get_by_text(REFUSED)).to_be_visible()
    assert page.url == f"{studio}/accounts/login/"
    page.goto(f"{studio}/workspaces/")
    assert page.url.startswith(f"{studio}/accounts/login/")
    assert not get_user_model().objects.exists()

    sign_in(page, studio, "Ada Lovelace")  # the next, untouched token signs in
    expect(page.get_by_role("heading", name="Workspaces", exact=True)).to_be_visible()
