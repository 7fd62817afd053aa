"""Under the Content-Security-Policy, the pages still work in real Chromium, and the browser
reports no violation (an inline script or style, htmx's injected indicator style, ...)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from .browser import choose

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_swaps_and_test_connection_work_with_no_policy_violation(page: Page, live_server, signed_in):
    violations: list[str] = []
    page.on(
        "console",
        lambda message: violations.append(message.text) if "Content Security Policy" in message.text else None,
    )
    page.add_init_script(
        "document.addEventListener('securitypolicyviolation', e => "
        "(window.cspViolations = window.cspViolations || []).push(e.violatedDirective + ' ' + e.blockedURI))"
    )
    page.goto(f"{live_server.url}/workspaces/{signed_in.name}/new-datastore/")
    choose(page, "Storage type", "Azure Database for PostgreSQL")
    expect(page.get_by_label("Enforce SSL")).to_be_visible()
    choose(page, "Storage type", "Azure Blob Storage")
    choose(page, "Authentication type", "SAS token")
    expect(page.get_by_label("SAS token")).to_be_visible()

    page.goto(f"{live_server.url}/workspaces/{signed_in.name}/datastores/workspaceblobstore/")
    page.get_by_role("button", name="Test connection").click()
    expect(page.get_by_text("Connection succeeded")).to_be_visible()
    expect(page.get_by_text("Checking…")).to_be_hidden()  # the indicator's style comes from studio.css

    assert violations == []
    assert page.evaluate("window.cspViolations || []") == []
