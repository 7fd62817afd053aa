"""Browser transfers straight to Blob Storage, through the studio's routes (Django's client) and
Azurite itself: the SAS each route hands out is for one blob and one operation, expires within
DIRECT_TRANSFER_SAS_MINUTES, is audited without its signature, and works (or is refused) against
Azurite as a browser would use it. The CORS rules are read from and added to an Azurite of the
test's own. tests/test_browser_direct.py does the same in Chromium."""

from __future__ import annotations

import base64
import re
from datetime import UTC, datetime, timedelta
from urllib.parse import quote, unquote, urlsplit

import pytest
import requests
from azure.core.exceptions import HttpResponseError
from azure.storage.blob import BlobClient, CorsRule
from cryptography.fernet import Fernet
from django.test import Client

from datastores.models import AuditAction, AuditEntry, Role
from datastores.storage import AuthType

from .direct import ask_upload, direct_download, member, put_blocks, sas_fields
from .support import AZURITE_KEY, STRONG_SECRET_KEY, free_port, register_blob, register_sas, sas_for, start_django, url

pytestmark = pytest.mark.django_db

STUDIO_ORIGIN = "http://testserver"  # what Django's test client is, as an origin


def register_blob_with_key(workspace, endpoint: str, container: str):
    return register_blob(
        workspace,
        container,
        endpoint,
        name="direct",
        auth_type=AuthType.ACCOUNT_KEY,
        account_key=AZURITE_KEY,
        create_if_not_exists=True,
    )


@pytest.fixture
def blob_store(workspace, azurite_endpoint, container_name):
    return register_blob_with_key(workspace, azurite_endpoint, container_name)


# --- uploads ---------------------------------------------------------------------------------


def test_an_upload_sas_writes_that_one_blob_and_nothing_beside_it(client, blob_store, blob_service, container_name):
    answer = ask_upload(client, blob_store, "reports/2026/q1.csv")
    assert answer.status_code == 200
    grant = answer.json()
    assert grant["path"] == "reports/2026/q1.csv"
    assert urlsplit(grant["url"]).path.endswith(f"/{container_name}/reports/2026/q1.csv")
    fields = sas_fields(grant["url"])
    assert fields["sr"] == "b" and fields["sp"] == "cw"

    assert put_blocks(grant["url"], b"a,b\n1,2\n", overwrite=False).status_code == 201
    container = blob_service.get_container_client(container_name)
    assert container.download_blob("reports/2026/q1.csv").readall() == b"a,b\n1,2\n"

    sibling = grant["url"].replace("/q1.csv?", "/q2.csv?")
    with pytest.raises(HttpResponseError) as refused:
        BlobClient.from_blob_url(sibling).upload_blob(b"nope")
    assert refused.value.status_code == 403
    with pytest.raises(HttpResponseError) as refused_read:
        BlobClient.from_blob_url(grant["url"]).download_blob().readall()  # create and write, not read
    assert refused_read.value.status_code == 403
    assert sorted(blob.name for blob in container.list_blobs()) == ["reports/2026/q1.csv"]


def test_an_upload_sas_expires_within_the_setting(client, blob_store, settings):
    settings.DIRECT_TRANSFER_SAS_MINUTES = 3
    before = datetime.now(UTC)
    grant = ask_upload(client, blob_store, "a.txt").json()
    expiry = datetime.fromisoformat(sas_fields(grant["url"])["se"].replace("Z", "+00:00"))
    assert expiry <= before + timedelta(minutes=3, seconds=2)
    assert expiry >= before + timedelta(minutes=2, seconds=50)
    assert datetime.fromisoformat(grant["expires_on"]) == expiry


def test_an_existing_blob_is_skipped_by_the_conditional_commit_and_kept_whole(
    client, blob_store, blob_service, container_name
):
    container = blob_service.get_container_client(container_name)
    container.upload_blob("kept.txt", b"the original")
    grant = ask_upload(client, blob_store, "kept.txt").json()
    assert put_blocks(grant["url"], b"a replacement", overwrite=False).status_code in (409, 412)
    assert container.download_blob("kept.txt").readall() == b"the original"
    # With Overwrite ticked the commit is unconditional.
    assert put_blocks(grant["url"], b"a replacement", overwrite=True).status_code == 201
    assert container.download_blob("kept.txt").readall() == b"a replacement"


def test_staged_blocks_are_invisible_until_the_commit(client, blob_store, blob_service, container_name):
    grant = ask_upload(client, blob_store, "half.bin").json()
    block = base64.b64encode(b"test0000-000000").decode()
    assert requests.put(f"{grant['url']}&comp=block&blockid={block}", data=b"x" * 100, timeout=10).status_code == 201
    assert [blob.name for blob in blob_service.get_container_client(container_name).list_blobs()] == []


def test_a_reader_gets_no_upload_sas(blob_store, django_user_model):
    reader = member(django_user_model, blob_store.workspace, Role.READER)
    answer = ask_upload(reader, blob_store, "a.txt")
    assert answer.status_code == 403
    assert "url" not in answer.json() and "sig=" not in answer.content.decode()
    assert "Contributor role" in answer.json()["message"]
    assert not AuditEntry.objects.filter(action=AuditAction.DIRECT_UPLOAD_GRANTED).exists()
    assert AuditEntry.objects.filter(action=AuditAction.ACCESS_REFUSED, datastore_name=blob_store.name).exists()


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("a/../b.txt", "'..'"),
        ("a/./b.txt", "'.'"),
        ("a//b.txt", "empty"),
        ("a%01b.txt", "control characters"),
        ("a%5Cb.txt", "Use / to separate folders"),
    ],
)
def test_a_hostile_path_gets_no_sas_and_a_clear_message(client, blob_store, path, message):
    answer = client.post(
        url(blob_store, "datastore_direct_upload", "PLACEHOLDER").replace("PLACEHOLDER", path),
        {"size": "1"},
        HTTP_ACCEPT="application/json",
    )
    assert answer.status_code == 400
    assert message in answer.json()["message"]
    assert not AuditEntry.objects.filter(action=AuditAction.DIRECT_UPLOAD_GRANTED, outcome="ok").exists()


def test_an_odd_but_legal_name_is_signed_for_exactly_that_name(client, blob_store, blob_service, container_name):
    name = "odd name #1 ?&sig=x%20ü.txt"
    answer = client.post(
        url(blob_store, "datastore_direct_upload", "x").removesuffix("x") + quote(name),
        {"size": "2"},
        HTTP_ACCEPT="application/json",
    )
    assert answer.status_code == 200
    assert put_blocks(answer.json()["url"], b"ok", overwrite=False).status_code == 201
    assert blob_service.get_container_client(container_name).download_blob(name).readall() == b"ok"


def test_an_upload_larger_than_the_studio_accepts_gets_no_sas(client, blob_store, settings):
    settings.MAX_UPLOAD_BYTES = 10
    answer = ask_upload(client, blob_store, "big.bin", size=11)
    assert answer.status_code == 413
    assert "10 bytes at most" in answer.json()["message"]


# --- downloads -------------------------------------------------------------------------------


def test_a_download_redirects_to_a_read_sas_for_that_blob_named_as_an_attachment(
    client, blob_store, blob_service, container_name
):
    blob_service.get_container_client(container_name).upload_blob("data/résumé 1.txt", b"hello")
    answer = client.get(url(blob_store, "datastore_file", "data/résumé 1.txt") + "?direct=1")
    assert answer.status_code == 302
    location = answer["Location"]
    fields = sas_fields(location)
    assert fields["sp"] == "r" and fields["sr"] == "b"
    assert fields["rscd"].startswith("attachment;") and "filename*=UTF-8''r%C3%A9sum%C3%A9%201.txt" in fields["rscd"]
    fetched = requests.get(location, timeout=10)
    assert fetched.content == b"hello"
    assert fetched.headers["Content-Disposition"] == fields["rscd"]
    assert unquote(urlsplit(location).path).endswith("/data/résumé 1.txt")
    # Read only: writing with it is refused.
    assert requests.put(location, data=b"x", headers={"x-ms-blob-type": "BlockBlob"}, timeout=10).status_code == 403


def test_a_direct_download_of_a_missing_file_answers_with_the_studios_page(client, blob_store):
    answer = client.get(url(blob_store, "datastore_file", "gone.txt") + "?direct=1")
    assert answer.status_code == 404
    assert "There is no file &#x27;gone.txt&#x27; in this datastore." in answer.content.decode()
    assert AuditEntry.objects.get(action=AuditAction.DIRECT_DOWNLOAD_GRANTED).outcome == "failed"


def test_the_file_list_links_downloads_to_the_direct_route(client, blob_store, blob_service, container_name):
    blob_service.get_container_client(container_name).upload_blob("a.txt", b"a")
    page = client.get(url(blob_store, "datastore_browse") + "?listing=1").content.decode()
    assert url(blob_store, "datastore_file", "a.txt") + '?direct=1"' in page


def test_with_direct_transfers_off_everything_goes_through_the_studio(
    client, blob_store, blob_service, container_name, settings
):
    settings.DIRECT_TRANSFERS = False
    blob_service.get_container_client(container_name).upload_blob("a.txt", b"streamed")
    page = client.get(url(blob_store, "datastore_browse") + "?listing=1")
    assert "?direct=1" not in page.content.decode() and "direct-status" not in page.content.decode()
    assert "connect-src 'self';" in page["Content-Security-Policy"]
    download = client.get(url(blob_store, "datastore_file", "a.txt") + "?direct=1")
    assert download.status_code == 200 and b"".join(download.streaming_content) == b"streamed"
    assert ask_upload(client, blob_store, "b.txt").status_code == 409


def test_a_sas_token_datastore_streams_and_says_why(client, workspace, azurite_endpoint, container_name, blob_service):
    token = sas_for(container_name, read=True, list=True, write=True, create=True)
    shared = register_sas(workspace, container_name, azurite_endpoint, token)
    blob_service.get_container_client(container_name).upload_blob("a.txt", b"streamed")
    page = client.get(url(shared, "datastore_browse")).content.decode()
    assert "cannot narrow to one file" in page
    assert client.get(url(shared, "datastore_browse") + "?listing=1").content.decode().count("?direct=1") == 0
    answer = ask_upload(client, shared, "b.txt")
    assert answer.status_code == 409 and answer.json()["outcome"] == "fallback"
    download = client.get(url(shared, "datastore_file", "a.txt") + "?direct=1")
    assert download.status_code == 200 and b"".join(download.streaming_content) == b"streamed"


# --- the page: its Content-Security-Policy, and what the CORS rules say ---------------------


def test_the_browse_page_may_connect_to_the_datastores_storage_origin_only(client, blob_store, azurite_endpoint):
    policy = client.get(url(blob_store, "datastore_browse"))["Content-Security-Policy"]
    connect = re.search(r"connect-src ([^;]*)", policy)
    assert connect is not None
    assert connect.group(1).split() == ["'self'", f"http://{azurite_endpoint}"]


def test_missing_cors_rules_are_said_once_and_an_owner_can_add_the_studios_rule(client, workspace, azurite_of_its_own):
    service = azurite_of_its_own.service()
    theirs = [
        CorsRule(["https://app.example.com"], ["GET"], allowed_headers=["x-ms-meta-*"], max_age_in_seconds=60),
        CorsRule(["*"], ["HEAD"]),
    ]
    service.set_service_properties(cors=theirs)
    store = register_blob_with_key(workspace, azurite_of_its_own.endpoint, "direct-cors")
    status = client.get(url(store, "datastore_direct_status"))
    text = status.content.decode()
    assert 'data-mode="streaming"' in text
    assert text.count("CORS rules do not allow") == 1
    assert "Allow this studio in the account's CORS rules" in text

    answer = client.post(url(store, "datastore_cors_allow"), {"path": "data"})
    assert answer.status_code == 302 and answer["Location"].endswith("browse/?path=data")
    rules = service.get_service_properties()["cors"]
    assert [(rule.allowed_origins, rule.allowed_methods) for rule in rules] == [
        ("https://app.example.com", "GET"),
        ("*", "HEAD"),
        (STUDIO_ORIGIN, "GET,HEAD,PUT,OPTIONS"),
    ]
    assert rules[0].allowed_headers == "x-ms-meta-*" and rules[0].max_age_in_seconds == 60
    assert 'data-mode="direct"' in client.get(url(store, "datastore_direct_status")).content.decode()
    entry = AuditEntry.objects.get(action=AuditAction.CORS_ALLOWED)
    assert (entry.target, entry.outcome) == (STUDIO_ORIGIN, "ok")

    # A second press changes nothing.
    client.post(url(store, "datastore_cors_allow"))
    assert len(service.get_service_properties()["cors"]) == 3


def test_a_contributor_is_told_but_gets_no_cors_button(workspace, azurite_of_its_own, django_user_model):
    store = register_blob_with_key(workspace, azurite_of_its_own.endpoint, "direct-cors")
    contributor = member(django_user_model, workspace, Role.CONTRIBUTOR)
    text = contributor.get(url(store, "datastore_direct_status")).content.decode()
    assert "CORS rules do not allow" in text and "Allow this studio" not in text
    assert contributor.post(url(store, "datastore_cors_allow")).status_code == 403
    assert azurite_of_its_own.service().get_service_properties()["cors"] == []


def test_an_account_with_five_cors_rules_is_left_as_it_is_with_a_clear_message(client, workspace, azurite_of_its_own):
    service = azurite_of_its_own.service()
    service.set_service_properties(cors=[CorsRule([f"https://{n}.example.com"], ["GET"]) for n in range(5)])
    store = register_blob_with_key(workspace, azurite_of_its_own.endpoint, "direct-cors")
    answer = client.post(url(store, "datastore_cors_allow"))
    assert answer.status_code == 409
    assert "5 CORS rules, the most Blob Storage allows" in answer.content.decode()
    assert len(service.get_service_properties()["cors"]) == 5


def test_a_rule_for_every_origin_with_every_header_lets_uploads_go_direct(client, workspace, azurite_of_its_own):
    azurite_of_its_own.service().set_service_properties(cors=[CorsRule(["*"], ["GET", "PUT"], allowed_headers=["*"])])
    store = register_blob_with_key(workspace, azurite_of_its_own.endpoint, "direct-cors")
    assert 'data-mode="direct"' in client.get(url(store, "datastore_direct_status")).content.decode()


# --- the audit log, and where a SAS never goes -------------------------------------------------


def test_each_sas_is_audited_with_who_what_and_until_when_but_never_its_signature(
    client, blob_store, blob_service, container_name, caplog, user
):
    blob_service.get_container_client(container_name).upload_blob("a.txt", b"a")
    grant = ask_upload(client, blob_store, "up/b.txt").json()
    location = client.get(url(blob_store, "datastore_file", "a.txt") + "?direct=1")["Location"]
    entries = {entry.action: entry for entry in AuditEntry.objects.filter(datastore_name=blob_store.name)}
    upload = entries[AuditAction.DIRECT_UPLOAD_GRANTED]
    download = entries[AuditAction.DIRECT_DOWNLOAD_GRANTED]
    assert (upload.actor, upload.target, upload.outcome) == (user, "up/b.txt", "ok")
    assert upload.detail.startswith("sp=cw, expires ") and upload.detail.endswith(" UTC")
    assert (download.target, download.detail[:5]) == ("a.txt", "sp=r,")
    signatures = [sas_fields(grant["url"])["sig"], sas_fields(location)["sig"]]
    for entry in AuditEntry.objects.all():
        row = str(AuditEntry.objects.filter(pk=entry.pk).values_list().first())
        assert "sig=" not in row and not any(signature in row for signature in signatures)
    assert not any(signature in caplog.text for signature in signatures) and "sig=" not in caplog.text
    page = client.get(url(blob_store, "datastore_browse") + "?listing=1").content.decode()
    assert "sig=" not in page


def test_a_sas_lifetime_outside_one_to_sixty_minutes_stops_start_up():
    key = Fernet.generate_key().decode()
    started = start_django(
        DIRECT_TRANSFER_SAS_MINUTES="61", SECRET_KEY=STRONG_SECRET_KEY, DATASTORE_ENCRYPTION_KEYS=key
    )
    assert started.returncode != 0
    assert "DIRECT_TRANSFER_SAS_MINUTES is 61" in started.stderr


def test_cors_rules_that_cannot_be_read_leave_it_to_the_browser_without_an_error(client, workspace, settings):
    settings.STORAGE_TIMEOUT_SECONDS = 2
    store = register_blob(
        workspace,
        "nowhere",
        f"127.0.0.1:{free_port()}",
        name="unreachable",
        auth_type=AuthType.ACCOUNT_KEY,
        account_key=AZURITE_KEY,
        skip_validation=True,
    )
    status = client.get(url(store, "datastore_direct_status"))
    assert status.status_code == 200
    assert 'data-mode="direct"' in status.content.decode()  # direct.js falls back if storage turns it away


def test_a_reader_downloads_directly_but_the_page_lets_no_script_reach_storage(
    blob_store, blob_service, container_name, django_user_model
):
    blob_service.get_container_client(container_name).upload_blob("a.txt", b"read me")
    reader = member(django_user_model, blob_store.workspace, Role.READER)
    page = reader.get(url(blob_store, "datastore_browse") + "?listing=1")
    assert "connect-src 'self';" in page["Content-Security-Policy"]
    text = page.content.decode()
    assert "direct.js" not in text and "direct-status" not in text
    assert url(blob_store, "datastore_file", "a.txt") + "?direct=1" in text
    location = reader.get(url(blob_store, "datastore_file", "a.txt") + "?direct=1")["Location"]
    assert requests.get(location, timeout=10).content == b"read me"


def test_a_direct_download_of_a_hostile_path_is_refused_with_a_clear_message(client, blob_store):
    answer = client.get(url(blob_store, "datastore_file", "x").removesuffix("x") + "a/../b.txt?direct=1")
    assert answer.status_code == 400
    assert "cannot contain empty, &#x27;.&#x27; or &#x27;..&#x27; folders" in answer.content.decode()
    assert "Location" not in answer


def test_an_empty_file_is_one_commit_of_no_blocks(client, blob_store, blob_service, container_name):
    grant = ask_upload(client, blob_store, "empty.txt", size=0).json()
    body = '<?xml version="1.0" encoding="utf-8"?><BlockList></BlockList>'
    committed = requests.put(f"{grant['url']}&comp=blocklist", data=body, headers={"If-None-Match": "*"}, timeout=10)
    assert committed.status_code == 201
    assert blob_service.get_container_client(container_name).download_blob("empty.txt").readall() == b""


def test_an_owner_of_a_sas_token_datastore_cannot_change_cors_rules(client, workspace, azurite_of_its_own):
    token = sas_for("anything", read=True, list=True)
    shared = register_sas(workspace, "anything", azurite_of_its_own.endpoint, token)
    answer = client.post(url(shared, "datastore_cors_allow"))
    assert answer.status_code == 409
    assert "cannot change the storage account&#x27;s CORS rules" in answer.content.decode()
    assert azurite_of_its_own.service().get_service_properties()["cors"] == []


# --- how a direct upload ended: reported by the browser, checked in storage, audited once --------


def report(client, datastore, path: str, outcome: str, size: int):
    return client.post(
        url(datastore, "datastore_direct_outcome", path),
        {"outcome": outcome, "size": str(size)},
        HTTP_ACCEPT="application/json",
    )


def ended(path: str) -> AuditEntry:
    return AuditEntry.objects.get(action=AuditAction.DIRECT_UPLOAD_ENDED, target=path)


def test_a_committed_upload_is_audited_once_storage_shows_it(client, blob_store, user):
    grant = ask_upload(client, blob_store, "up/a.csv", size=8).json()
    assert put_blocks(grant["url"], b"a,b\n1,2\n", overwrite=False).status_code == 201
    answer = report(client, blob_store, "up/a.csv", "uploaded", 8)
    assert answer.status_code == 200 and answer.json()["recorded"] == "ok"
    entry = ended("up/a.csv")
    assert (entry.actor, entry.outcome, entry.detail) == (user, "ok", "committed, 8 bytes (checked in storage)")
    # Once per upload: the same report again is refused and adds nothing.
    again = report(client, blob_store, "up/a.csv", "failed", 8)
    assert again.status_code == 409 and "already recorded" in again.json()["message"]
    assert AuditEntry.objects.filter(action=AuditAction.DIRECT_UPLOAD_ENDED).count() == 1
    # A new upload of the same file (a new SAS) is reported anew.
    ask_upload(client, blob_store, "up/a.csv", size=8)
    assert report(client, blob_store, "up/a.csv", "uploaded", 8).status_code == 200
    assert AuditEntry.objects.filter(action=AuditAction.DIRECT_UPLOAD_ENDED).count() == 2


def test_an_upload_skipped_because_the_file_was_there_is_audited_as_skipped(
    client, blob_store, blob_service, container_name
):
    blob_service.get_container_client(container_name).upload_blob("kept.txt", b"the original")
    grant = ask_upload(client, blob_store, "kept.txt").json()
    assert put_blocks(grant["url"], b"other", overwrite=False).status_code in (409, 412)
    assert report(client, blob_store, "kept.txt", "skipped", 5).json()["recorded"] == "skipped"
    entry = ended("kept.txt")
    assert entry.outcome == "skipped" and "storage holds 12 bytes" in entry.detail


@pytest.mark.parametrize(
    ("stored_bytes", "said"),
    [(None, "but nothing is there"), (b"abc", "but storage holds 3 bytes")],
)
def test_a_browser_that_claims_a_commit_storage_does_not_show_is_audited_as_failed(
    client, blob_store, blob_service, container_name, stored_bytes, said
):
    ask_upload(client, blob_store, "claimed.bin", size=5)
    if stored_bytes is not None:
        blob_service.get_container_client(container_name).upload_blob("claimed.bin", stored_bytes)
    assert report(client, blob_store, "claimed.bin", "uploaded", 5).json()["recorded"] == "failed"
    entry = ended("claimed.bin")
    assert entry.outcome == "failed" and entry.detail == f"the browser said it committed 5 bytes, {said}"


def test_a_cancelled_upload_is_audited_with_what_storage_holds(client, blob_store):
    ask_upload(client, blob_store, "gone.bin", size=5)
    assert report(client, blob_store, "gone.bin", "cancelled", 5).json()["recorded"] == "failed"
    assert ended("gone.bin").detail == "cancelled in the browser; nothing is there"


def test_no_outcome_is_recorded_for_an_upload_that_was_never_granted(client, blob_store):
    answer = report(client, blob_store, "never.txt", "uploaded", 1)
    assert answer.status_code == 409 and "nothing to report" in answer.json()["message"]
    assert not AuditEntry.objects.filter(action=AuditAction.DIRECT_UPLOAD_ENDED).exists()


def test_another_persons_grant_does_not_let_one_report(client, blob_store, django_user_model):
    ask_upload(client, blob_store, "theirs.txt")
    other = member(django_user_model, blob_store.workspace, Role.CONTRIBUTOR)
    assert report(other, blob_store, "theirs.txt", "uploaded", 5).status_code == 409
    assert not AuditEntry.objects.filter(action=AuditAction.DIRECT_UPLOAD_ENDED).exists()


@pytest.mark.parametrize(("outcome", "size", "field"), [("committed!", "5", "outcome"), ("uploaded", "x", "size")])
def test_a_report_that_makes_no_sense_is_refused_with_a_clear_message(client, blob_store, outcome, size, field):
    ask_upload(client, blob_store, "a.txt")
    answer = client.post(
        url(blob_store, "datastore_direct_outcome", "a.txt"),
        {"outcome": outcome, "size": size},
        HTTP_ACCEPT="application/json",
    )
    assert answer.status_code == 400
    assert ("one of uploaded, skipped" if field == "outcome" else "Say the file's size") in answer.json()["message"]
    assert not AuditEntry.objects.filter(action=AuditAction.DIRECT_UPLOAD_ENDED).exists()


def test_a_reader_cannot_report_and_a_report_needs_the_csrf_token(blob_store, django_user_model, user):
    reader = member(django_user_model, blob_store.workspace, Role.READER)
    assert report(reader, blob_store, "a.txt", "uploaded", 1).status_code == 403
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(user)
    assert report(strict, blob_store, "a.txt", "uploaded", 1).status_code == 403
    assert not AuditEntry.objects.filter(action=AuditAction.DIRECT_UPLOAD_ENDED).exists()


# --- Azure Files: downloads go direct (a file SAS, read only), uploads through the studio ---------


@pytest.fixture
def share_store(workspace, fileshare_standin, share_name):
    from .copies import share_datastore

    return share_datastore(workspace, "share", fileshare_standin, share_name)


def put_share_file(standin, share: str, path: str, data: bytes) -> None:
    from azure.storage.fileshare import ShareServiceClient

    share_client = ShareServiceClient(standin.account_url, credential=standin.credential).get_share_client(share)
    folder = share_client.get_directory_client(path.rpartition("/")[0])
    if "/" in path and not folder.exists():
        folder.create_directory()
    share_client.get_file_client(path).upload_file(data)


def test_a_file_share_download_redirects_to_a_read_sas_for_that_one_file(
    client, share_store, fileshare_standin, share_name
):
    put_share_file(fileshare_standin, share_name, "docs/résumé.txt", b"from azure files")
    put_share_file(fileshare_standin, share_name, "docs/other.txt", b"not this one")
    location, fields = direct_download(client, share_store, "docs/résumé.txt")
    assert location.startswith(f"{fileshare_standin.account_url}/{share_name}/docs/r%C3%A9sum%C3%A9.txt?")
    assert (fields["sp"], fields["sr"]) == ("r", "f")
    assert "filename*=UTF-8''r%C3%A9sum%C3%A9.txt" in fields["rscd"]
    fetched = requests.get(location, timeout=10)
    assert fetched.content == b"from azure files" and fetched.headers["Content-Disposition"] == fields["rscd"]
    # Read only, this one file: another file, writing or deleting with it are refused.
    query = urlsplit(location).query
    assert (
        requests.get(f"{fileshare_standin.account_url}/{share_name}/docs/other.txt?{query}", timeout=10).status_code
        == 403
    )
    headers = {"x-ms-type": "file", "x-ms-content-length": "1", "x-ms-version": "2025-05-05"}
    assert requests.put(location, headers=headers, timeout=10).status_code == 403
    assert requests.delete(location, timeout=10).status_code == 403
    assert fileshare_standin.file_bytes(share_name, "docs/résumé.txt") == b"from azure files"
    entry = AuditEntry.objects.get(action=AuditAction.DIRECT_DOWNLOAD_GRANTED)
    assert entry.target == "docs/résumé.txt" and entry.detail.startswith("sp=r, expires ")


def test_file_share_uploads_go_through_the_studio_and_the_page_says_why(
    client, share_store, fileshare_standin, share_name
):
    page = client.get(url(share_store, "datastore_browse"))
    text = page.content.decode()
    assert "uploads go through the studio (Azure File Share has no block commit" in text
    assert "direct.js" not in text and 'id="direct-status"' not in text
    assert "connect-src 'self';" in page["Content-Security-Policy"]
    answer = ask_upload(client, share_store, "a.txt")
    assert answer.status_code == 409 and answer.json()["outcome"] == "fallback" and "url" not in answer.json()
    assert not AuditEntry.objects.filter(action=AuditAction.DIRECT_UPLOAD_GRANTED).exists()
    uploaded = client.put(url(share_store, "datastore_file", "a.txt"), b"through", content_type="text/plain")
    assert uploaded.json()["outcome"] == "uploaded"
    assert fileshare_standin.file_bytes(share_name, "a.txt") == b"through"


def test_a_direct_download_of_a_missing_share_file_answers_with_the_studios_page(client, share_store):
    answer = client.get(url(share_store, "datastore_file", "gone.txt") + "?direct=1")
    assert answer.status_code == 404 and "Location" not in answer


def test_a_sas_token_file_share_streams_downloads_and_says_why(client, workspace, fileshare_standin, share_name):
    from datetime import UTC, datetime

    from azure.storage.fileshare import ShareSasPermissions, generate_share_sas

    from .copies import share_datastore
    from .support import FILESHARE_ACCOUNT, FILESHARE_KEY

    token = generate_share_sas(
        FILESHARE_ACCOUNT,
        share_name,
        FILESHARE_KEY,
        permission=ShareSasPermissions(read=True, list=True),
        expiry=datetime.now(UTC) + timedelta(hours=1),
    )
    shared = share_datastore(workspace, "shared", fileshare_standin, share_name, sas_token=token)
    put_share_file(fileshare_standin, share_name, "a.txt", b"streamed")
    page = client.get(url(shared, "datastore_browse")).content.decode()
    assert "cannot narrow to one file, so downloads go through the studio" in page
    assert client.get(url(shared, "datastore_browse") + "?listing=1").content.decode().count("?direct=1") == 0
    download = client.get(url(shared, "datastore_file", "a.txt") + "?direct=1")
    assert download.status_code == 200 and b"".join(download.streaming_content) == b"streamed"
    assert not AuditEntry.objects.filter(action=AuditAction.DIRECT_DOWNLOAD_GRANTED).exists()
