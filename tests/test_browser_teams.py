"""A team in real headless Chromium: an owner adds a reader; the reader signs in, sees only
that workspace, browses and downloads, finds no control that changes anything, and a crafted
upload and delete from the reader's session are refused; the owner sees it all in Activity.
Storage is the real Azurite, checked with the SDK directly."""

from __future__ import annotations

import secrets

import pytest
from playwright.sync_api import Browser, Page, expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def sign_in(page: Page, base_url: str, username: str, password: str) -> None:
    page.goto(f"{base_url}/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def test_an_owner_adds_a_reader_who_may_look_but_not_change(
    page: Page, browser: Browser, live_server, django_user_model, blob_service, azurite_url
):
    from datastores.access import Actor
    from datastores.services import workspace_create

    passwords = {"olive": secrets.token_urlsafe(16), "rita": secrets.token_urlsafe(16)}
    owner = django_user_model.objects.create_user(username="olive", password=passwords["olive"])
    django_user_model.objects.create_user(username="rita", email="rita@example.com", password=passwords["rita"])
    team = workspace_create(actor=Actor(user=owner), name="team-ws")
    workspace_create(actor=Actor(user=owner), name="private-ws")
    container = team.datastores.get(name="workspaceblobstore").connection_settings["container_name"]
    blob_service.get_container_client(container).upload_blob("reports/q1.csv", b"quarter,total\n1,100\n")

    sign_in(page, live_server.url, "olive", passwords["olive"])
    page.goto(f"{live_server.url}/workspaces/team-ws/members/")
    page.get_by_label("Username or email").fill("rita@example.com")
    page.get_by_label("Role", exact=True).select_option("reader")
    page.get_by_role("button", name="Add member").click()
    expect(page.locator("#members")).to_contain_text("rita")
    expect(page.locator("#members")).to_contain_text("rita is now a reader of team-ws.")

    reader = browser.new_page()
    sign_in(reader, live_server.url, "rita", passwords["rita"])
    reader.goto(f"{live_server.url}/workspaces/")
    expect(reader.get_by_role("link", name="team-ws").first).to_be_visible()
    expect(reader.get_by_text("private-ws")).to_have_count(0)
    reader.goto(f"{live_server.url}/workspaces/team-ws/datastores/workspaceblobstore/browse/?path=reports")
    expect(reader.get_by_role("link", name="q1.csv")).to_be_visible()
    for control in ("Upload files", "Upload folder"):
        expect(reader.get_by_text(control)).to_have_count(0)
    expect(reader.get_by_role("button", name="Delete")).to_have_count(0)
    with reader.expect_download() as download:
        reader.get_by_role("link", name="Download", exact=True).click()
    assert open(download.value.path(), "rb").read() == b"quarter,total\n1,100\n"

    # What the page does not offer, crafted by hand from the reader's own session:
    token = reader.evaluate("JSON.parse(document.body.getAttribute('hx-headers'))['X-CSRFToken']")
    base = f"{live_server.url}/workspaces/team-ws/datastores/workspaceblobstore"
    upload = reader.request.put(f"{base}/files/reports/evil.csv", data=b"x", headers={"X-CSRFToken": token})
    assert upload.status == 403 and upload.json()["outcome"] == "refused"
    delete = reader.request.post(
        f"{base}/delete-file/", form={"path": "reports/q1.csv"}, headers={"X-CSRFToken": token}
    )
    assert delete.status == 403
    assert sorted(blob.name for blob in blob_service.get_container_client(container).list_blobs()) == ["reports/q1.csv"]

    page.goto(f"{live_server.url}/workspaces/team-ws/activity/")
    rows = page.locator("#entries tbody tr")
    expect(rows.filter(has_text="rita").filter(has_text="Access refused")).to_have_count(2)
    # The download went straight from storage: what is audited is the SAS the reader was handed.
    expect(rows.filter(has_text="rita").filter(has_text="SAS for a browser's download issued")).to_have_count(1)
    expect(rows.filter(has_text="rita").filter(has_text="Folder browsed")).not_to_have_count(0)
    expect(rows.filter(has_text="olive").filter(has_text="Member added")).to_have_count(1)
