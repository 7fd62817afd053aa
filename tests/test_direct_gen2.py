"""Browser transfers straight to ADLS Gen2, at the account's blob endpoint, through the studio's
routes (Django's client) and the ADLS Gen2 stand-in (no emulator exists: tests/standins/adls_gen2.py),
which checks each user delegation SAS (signature, letters, expiry, the path it names). The SAS a route
hands out is for one file and one operation; the CORS rules are the stand-in's blob service's, read
and changed with the service principal's token. tests/test_browser_direct.py does the same in Chromium."""

from __future__ import annotations

import base64
import threading
from datetime import timedelta
from urllib.parse import quote, urlsplit

import pytest
import requests

from datastores.models import AuditAction, AuditEntry, Datastore, Role
from datastores.services import datastore_register
from tests.lakes.stores import READER_ID
from tests.standins.adls_gen2 import cors_rule

from .direct import ask_upload, direct_download, member, put_blocks, sas_fields
from .support import url

pytestmark = pytest.mark.django_db

STUDIO_ORIGIN = "http://testserver"  # what Django's test client is, as an origin


def register_lake(workspace, gen2, name: str = "lake") -> Datastore:
    values = gen2.backend.clean_values("service_principal", gen2.values())
    return datastore_register(
        workspace=workspace, name=name, storage_type=gen2.storage_type, auth_type="service_principal", values=values
    )


@pytest.fixture
def lake(workspace, gen2) -> Datastore:
    return register_lake(workspace, gen2)


# --- uploads: the grant, and the attacks on it --------------------------------------------------


def test_an_upload_sas_writes_that_one_file_at_the_blob_endpoint_and_nothing_beside_it(client, gen2, lake):
    answer = ask_upload(client, lake, "reports/2026/q1.csv")
    assert answer.status_code == 200
    grant = answer.json()
    assert grant["url"].startswith(f"{gen2.server.account_url}/raw/reports/2026/q1.csv?")
    fields = sas_fields(grant["url"])
    assert (fields["sr"], fields["sp"], fields["spr"]) == ("b", "cw", "https")
    assert fields["skoid"] == READER_ID  # a user delegation SAS, signed with the principal's key

    assert put_blocks(grant["url"], b"a,b\n1,2\n").status_code == 201
    assert gen2.read("reports/2026/q1.csv") == b"a,b\n1,2\n"

    # A neighbouring path, another operation: refused by the stand-in, nothing written.
    sibling = grant["url"].replace("/q1.csv?", "/q2.csv?")
    assert put_blocks(sibling, b"nope").status_code == 403
    assert requests.get(grant["url"], timeout=10).status_code == 403  # create and write, not read
    assert requests.delete(grant["url"], timeout=10).status_code == 403
    assert gen2.read("reports/2026/q2.csv") is None
    assert gen2.read("reports/2026/q1.csv") == b"a,b\n1,2\n"


def test_a_sas_for_one_file_cannot_be_stretched_to_its_folder_or_another_filesystem(client, gen2, lake):
    grant = ask_upload(client, lake, "a/b.txt").json()
    query = urlsplit(grant["url"]).query
    base = gen2.server.account_url
    gen2.server.add_filesystem("other")
    assert put_blocks(f"{base}/other/a/b.txt?{query}", b"x").status_code == 403
    assert requests.get(f"{base}/raw?restype=container&comp=list&{query}", timeout=10).status_code == 403
    widened = grant["url"].replace("sp=cw", "sp=racwdl")
    assert put_blocks(widened, b"x").status_code == 403  # the letters are signed
    assert gen2.read("a/b.txt") is None and "other/a/b.txt" not in gen2.server.filesystems["other"]


def test_an_expired_upload_sas_is_refused(gen2, lake):
    """Signed as the studio signs, with a lifetime already over."""
    connection = lake.connection()
    grant = gen2.backend.direct_grant(connection, "late.txt", write=True, lifetime=timedelta(seconds=-5))
    answer = put_blocks(grant.url, b"too late")
    assert answer.status_code == 403 and "AuthenticationFailed" in answer.text
    assert gen2.read("late.txt") is None


def test_an_upload_sas_expires_within_the_setting(client, lake, settings):
    settings.DIRECT_TRANSFER_SAS_MINUTES = 2
    grant = ask_upload(client, lake, "a.txt").json()
    fields = sas_fields(grant["url"])
    assert fields["se"] == grant["expires_on"].replace("+00:00", "Z")
    start, expiry = fields["st"], fields["se"]
    assert start < expiry


def test_an_existing_file_is_skipped_by_the_conditional_commit_and_kept_whole(client, gen2, lake):
    gen2.put("kept.txt", b"the original")
    grant = ask_upload(client, lake, "kept.txt").json()
    assert put_blocks(grant["url"], b"a replacement").status_code in (409, 412)
    assert gen2.read("kept.txt") == b"the original"
    assert put_blocks(grant["url"], b"a replacement", overwrite=True).status_code == 201
    assert gen2.read("kept.txt") == b"a replacement"


def test_staged_blocks_are_invisible_until_the_commit(client, gen2, lake):
    grant = ask_upload(client, lake, "half.bin").json()
    block = base64.b64encode(b"test0000-000000").decode()
    assert requests.put(f"{grant['url']}&comp=block&blockid={block}", data=b"x" * 100, timeout=10).status_code == 201
    assert "half.bin" not in gen2.stored_paths()


def test_a_reader_gets_no_upload_sas(gen2, lake, django_user_model):
    reader = member(django_user_model, lake.workspace, Role.READER)
    answer = ask_upload(reader, lake, "a.txt")
    assert answer.status_code == 403 and "sig=" not in answer.content.decode()
    assert not AuditEntry.objects.filter(action=AuditAction.DIRECT_UPLOAD_GRANTED).exists()


def test_a_hostile_path_gets_no_sas(client, lake):
    answer = client.post(
        url(lake, "datastore_direct_upload", "PLACEHOLDER").replace("PLACEHOLDER", "a/../b.txt"),
        {"size": "1"},
        HTTP_ACCEPT="application/json",
    )
    assert answer.status_code == 400 and "url" not in answer.json()


# --- downloads ---------------------------------------------------------------------------------


def test_a_download_redirects_to_a_read_sas_for_that_file_named_as_an_attachment(client, gen2, lake):
    gen2.put("data/résumé 1.txt", b"hello")
    location, fields = direct_download(client, lake, "data/résumé 1.txt")
    assert location.startswith(f"{gen2.server.account_url}/raw/data/r%C3%A9sum%C3%A9%201.txt?")
    assert (fields["sp"], fields["sr"]) == ("r", "b")
    assert fields["rscd"].startswith("attachment;") and "filename*=UTF-8''r%C3%A9sum%C3%A9%201.txt" in fields["rscd"]
    fetched = requests.get(location, timeout=10)
    assert fetched.status_code == 200 and fetched.content == b"hello"
    assert fetched.headers["Content-Disposition"] == fields["rscd"]
    # Read only, this one file: writing, or reading the file beside it, is refused.
    assert put_blocks(location, b"x", overwrite=True).status_code == 403
    gen2.put("data/other.txt", b"secret")
    assert requests.get(location.replace("r%C3%A9sum%C3%A9%201.txt?", "other.txt?"), timeout=10).status_code == 403
    # The disposition is signed: another one is refused.
    swapped = location.replace(quote(fields["rscd"], safe=""), quote("inline", safe=""))
    assert swapped != location and requests.get(swapped, timeout=10).status_code == 403
    assert gen2.read("data/résumé 1.txt") == b"hello"


def test_a_direct_download_of_a_missing_file_or_a_folder_answers_with_the_studios_page(client, gen2, lake):
    answer = client.get(url(lake, "datastore_file", "gone.txt") + "?direct=1")
    assert answer.status_code == 404 and "Location" not in answer
    gen2.make_folder("curated")
    folder = client.get(url(lake, "datastore_file", "curated") + "?direct=1")
    assert folder.status_code == 400 and "is a folder" in folder.content.decode()


def test_the_file_list_links_downloads_to_the_direct_route_and_the_page_may_reach_the_blob_endpoint(client, gen2, lake):
    gen2.put("a.txt", b"a")
    page = client.get(url(lake, "datastore_browse") + "?listing=1")
    assert url(lake, "datastore_file", "a.txt") + '?direct=1"' in page.content.decode()
    assert f"connect-src 'self' {gen2.server.base_url};" in page["Content-Security-Policy"]


def test_each_gen2_sas_is_audited_without_its_signature(client, gen2, lake, user):
    gen2.put("a.txt", b"a")
    grant = ask_upload(client, lake, "up/b.txt").json()
    location = client.get(url(lake, "datastore_file", "a.txt") + "?direct=1")["Location"]
    upload = AuditEntry.objects.get(action=AuditAction.DIRECT_UPLOAD_GRANTED)
    download = AuditEntry.objects.get(action=AuditAction.DIRECT_DOWNLOAD_GRANTED)
    assert (upload.actor, upload.target, upload.detail[:6]) == (user, "up/b.txt", "sp=cw,")
    assert (download.target, download.detail[:5]) == ("a.txt", "sp=r,")
    for signature in (sas_fields(grant["url"])["sig"], sas_fields(location)["sig"]):
        assert not AuditEntry.objects.filter(detail__contains=signature).exists()


# --- the blob service's CORS rules ---------------------------------------------------------------


def test_a_principal_that_may_not_read_the_cors_rules_leaves_it_to_the_browser(client, gen2, lake):
    status = client.get(url(lake, "datastore_direct_status")).content.decode()
    assert 'data-mode="direct"' in status  # direct.js falls back to the studio if storage turns it away
    assert "Allow this studio" not in status


def test_missing_cors_rules_are_said_once_and_an_owner_adds_one_rule_keeping_the_others(client, gen2, lake):
    gen2.server.service_admins.add(READER_ID)
    theirs = {
        "AllowedOrigins": "https://app.example.com",
        "AllowedMethods": "GET",
        "AllowedHeaders": "x-ms-meta-*",
        "ExposedHeaders": "",
        "MaxAgeInSeconds": "60",
    }
    gen2.server.cors_rules = [theirs]
    text = client.get(url(lake, "datastore_direct_status")).content.decode()
    assert 'data-mode="streaming"' in text and text.count("CORS rules do not allow") == 1
    assert "Allow this studio in the account's CORS rules" in text

    answer = client.post(url(lake, "datastore_cors_allow"), {"path": "data"})
    assert answer.status_code == 302
    rules = gen2.server.cors_rules
    assert rules[0] == theirs
    assert [(rule["AllowedOrigins"], rule["AllowedMethods"]) for rule in rules] == [
        ("https://app.example.com", "GET"),
        (STUDIO_ORIGIN, "GET,HEAD,PUT,OPTIONS"),
    ]
    assert 'data-mode="direct"' in client.get(url(lake, "datastore_direct_status")).content.decode()
    assert AuditEntry.objects.get(action=AuditAction.CORS_ALLOWED).outcome == "ok"
    client.post(url(lake, "datastore_cors_allow"))  # a second press changes nothing
    assert len(gen2.server.cors_rules) == 2


def test_a_principal_that_may_not_change_the_cors_rules_gets_a_clear_message_and_nothing_changes(client, gen2, lake):
    answer = client.post(url(lake, "datastore_cors_allow"))
    assert answer.status_code == 502  # the storage service refused the studio's credential
    assert "takes more than a data role" in answer.content.decode()
    assert gen2.server.cors_rules == []
    assert AuditEntry.objects.get(action=AuditAction.CORS_ALLOWED).outcome == "failed"


def test_the_stand_in_answers_a_preflight_only_from_its_rules(gen2):
    """What a browser asks before its Put Block: refused without a rule, admitted with the studio's."""
    target = f"{gen2.server.account_url}/raw/a.txt"
    ask = {"Origin": "https://studio.example", "Access-Control-Request-Method": "PUT"}
    assert requests.options(target, headers=ask, timeout=10).status_code == 403
    gen2.server.cors_rules = [cors_rule("https://studio.example")]
    allowed = requests.options(target, headers=ask, timeout=10)
    assert allowed.status_code == 200 and allowed.headers["Access-Control-Allow-Origin"] == "https://studio.example"
    other = requests.options(target, headers={**ask, "Origin": "https://evil.example"}, timeout=10)
    assert other.status_code == 403


@pytest.mark.django_db(transaction=True)
def test_two_owners_allowing_the_studio_at_once_lose_no_rule(gen2, workspace):
    """Each presses "Allow this studio" for another origin at the same moment, and each read of the
    rules takes half a second: both rules are kept (the read-then-write is serialised)."""
    from django.contrib.auth import get_user_model

    from datastores.access import Actor
    from datastores.services import datastore_cors_allow

    gen2.server.service_admins.add(READER_ID)
    gen2.server.properties_delay = 0.5
    store = register_lake(workspace, gen2)
    owner = Actor(user=get_user_model().objects.get(memberships__workspace=workspace))
    errors: list[BaseException] = []

    def press(origin: str) -> None:
        try:
            datastore_cors_allow(datastore=Datastore.objects.get(pk=store.pk), origin=origin, actor=owner)
        except BaseException as error:  # reported by the assertion below
            errors.append(error)

    threads = [threading.Thread(target=press, args=(f"https://studio{n}.example",)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    assert sorted(rule["AllowedOrigins"] for rule in gen2.server.cors_rules) == [
        "https://studio0.example",
        "https://studio1.example",
    ]
