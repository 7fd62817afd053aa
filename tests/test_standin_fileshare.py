"""Tests of the Azure Files stand-in, driven by the real azure-storage-file-share client.

Azure Files has no emulator, so tests/standins/fileshare.py plays the service;
these tests check that the SDK works against it end to end and that it refuses
credentials the way Azure does. No Django needed.
"""

from __future__ import annotations

import base64
import http.client
import os
import ssl
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import pytest
import trustme
from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    ResourceExistsError,
    ResourceNotFoundError,
)
from azure.core.paging import PageIterator
from azure.storage.fileshare import (
    AccountSasPermissions,
    ContentSettings,
    DirectoryProperties,
    FileProperties,
    FileSasPermissions,
    ResourceTypes,
    ShareFileClient,
    ShareSasPermissions,
    ShareServiceClient,
    generate_account_sas,
    generate_file_sas,
    generate_share_sas,
)

from tests.standins.fileshare import FileShareStandin

ACCOUNT = "studioacct"
KEY = base64.b64encode(b"stand-in account key for tests, 64 bytes long..................").decode()
OTHER_KEY = base64.b64encode(b"a different key that Azure would not accept for this account....").decode()
MiB = 1024 * 1024
TIMEOUTS: dict[str, Any] = {"connection_timeout": 5, "read_timeout": 10}


@pytest.fixture(scope="module")
def server():
    with FileShareStandin(ACCOUNT, KEY) as running:
        yield running


@pytest.fixture
def standin(server):
    """The module's running stand-in, emptied before each test."""
    server.reset()
    return server


def service(standin, credential=None, **kwargs) -> ShareServiceClient:
    return ShareServiceClient(standin.account_url, credential=credential or standin.credential, **TIMEOUTS, **kwargs)


def soon(**delta) -> datetime:
    return datetime.now(UTC) + timedelta(**delta)


def account_sas(permission: str, key: str = KEY, resource_types: str = "sco", **kwargs) -> str:
    return generate_account_sas(
        ACCOUNT,
        key,
        resource_types=ResourceTypes.from_string(resource_types),
        permission=AccountSasPermissions.from_string(permission),
        expiry=kwargs.pop("expiry", soon(hours=1)),
        **kwargs,
    )


@pytest.fixture
def seeded(standin):
    """A share 'docs' holding dir/hello.txt, written with the account key."""
    share = service(standin).create_share("docs")
    share.create_directory("dir")
    share.get_file_client("dir/hello.txt").upload_file(b"hello, world")
    return standin


def put_range_lengths(standin) -> list[int]:
    return [int(r.header("Content-Length")) for r in standin.requests if r.q.get("comp") == "range"]


# --------------------------------------------------------------------------- Shared Key


def test_the_right_key_round_trips_a_10_mb_file_uploaded_in_ranges_of_at_most_4_mib(standin):
    data = os.urandom(10 * MiB + 123)
    client = service(standin, max_single_get_size=4 * MiB, max_chunk_get_size=4 * MiB)
    share = client.create_share("studio-data", quota=10)
    assert share.get_share_properties().quota == 10
    directory = share.create_directory("reports 2024")
    file = directory.get_file_client("résumé big.bin")

    file.upload_file(data)

    assert put_range_lengths(standin) == [4 * MiB, 4 * MiB, 2 * MiB + 123]
    assert standin.file_bytes("studio-data", "reports 2024/résumé big.bin") == data
    assert file.download_file().readall() == data
    chunks = list(file.download_file().chunks())
    assert len(chunks) == 3 and b"".join(chunks) == data
    assert file.download_file(offset=5 * MiB, length=1000).readall() == data[5 * MiB : 5 * MiB + 1000]
    props = file.get_file_properties()
    assert props.size == len(data) and props.content_settings.content_type == "application/octet-stream"
    assert directory.get_directory_properties().etag


def test_metadata_and_content_settings_are_signed_stored_and_returned(standin):
    share = service(standin).create_share("props", metadata={"owner": "studio"})
    file = share.get_file_client("page.html")
    file.upload_file(
        b"<p>hi</p>",
        metadata={"Source": "upload", "stage_b": "x"},
        content_settings=ContentSettings(content_type="text/html", content_language="en"),
    )

    props = file.get_file_properties()
    assert props.metadata == {"Source": "upload", "stage_b": "x"}
    assert (props.content_settings.content_type, props.content_settings.content_language) == ("text/html", "en")
    assert share.get_share_properties().metadata == {"owner": "studio"}
    assert [(s.name, s.metadata) for s in service(standin).list_shares(include_metadata=True)] == [
        ("props", {"owner": "studio"})
    ]


def test_a_ranged_download_sends_x_ms_range_and_gets_206_with_content_range(seeded):
    file = service(seeded).get_share_client("docs").get_file_client("dir/hello.txt")
    statuses = []
    downloader = file.download_file(
        offset=7, length=5, raw_response_hook=lambda r: statuses.append(r.http_response.status_code)
    )
    assert downloader.readall() == b"world"
    assert statuses == [206]
    assert seeded.requests[-1].header("x-ms-range") == "bytes=7-11"
    assert downloader.properties.content_range == "bytes 7-11/12"


def test_a_download_starting_past_the_end_fails_with_416_invalid_range(seeded):
    file = service(seeded).get_share_client("docs").get_file_client("dir/hello.txt")
    with pytest.raises(HttpResponseError) as caught:
        file.download_file(offset=100, length=5).readall()
    assert caught.value.status_code == 416 and caught.value.error_code == "InvalidRange"


def test_an_empty_file_downloads_as_empty_bytes(standin):
    file = service(standin).create_share("empty").get_file_client("nothing.txt")
    file.create_file(0)
    assert file.download_file().readall() == b""


def test_listing_pages_through_entries_in_name_order_with_markers(standin):
    share = service(standin).create_share("listing")
    folder = share.create_directory("folder")
    sizes = {"b.txt": 3, "d.csv": 10, "f.bin": 0, "g.log": 7}
    for name, size in sizes.items():
        folder.get_file_client(name).upload_file(b"x" * size)
    for name in ("a-dir", "c-dir", "e-dir"):
        folder.create_subdirectory(name)
    all_names = sorted([*sizes, "a-dir", "c-dir", "e-dir"])

    pages = cast(
        "PageIterator[DirectoryProperties | FileProperties]",
        folder.list_directories_and_files(results_per_page=3).by_page(),
    )
    first = list(next(pages))
    token = pages.continuation_token
    rest = [list(page) for page in pages]

    assert [sorted(i.name for i in page) for page in [first, *rest]] == [all_names[0:3], all_names[3:6], all_names[6:]]
    assert token == all_names[3]
    listed = {i.name: i for page in [first, *rest] for i in page}
    assert {n for n, i in listed.items() if i.is_directory} == {"a-dir", "c-dir", "e-dir"}
    assert {n: listed[n].size for n in sizes} == sizes  # type: ignore[union-attr]  # files only
    resumed = folder.list_directories_and_files(results_per_page=3).by_page(continuation_token=token)
    assert sorted(i.name for i in next(resumed)) == all_names[3:6]
    assert [i.name for i in folder.list_directories_and_files(name_starts_with="d")] == ["d.csv"]
    assert [r.q.get("maxresults") for r in standin.requests if r.q.get("comp") == "list"][:3] == ["3", "3", "3"]


def test_list_shares_pages_with_results_per_page(standin):
    client = service(standin)
    for name in ("share-c", "share-a", "share-b"):
        client.create_share(name)
    pages = [[s.name for s in page] for page in client.list_shares(results_per_page=2).by_page()]
    assert pages == [["share-a", "share-b"], ["share-c"]]


def test_rename_moves_the_file_and_delete_removes_it(seeded):
    share = service(seeded).get_share_client("docs")
    renamed = share.get_file_client("dir/hello.txt").rename_file("dir/renamed.txt")

    assert renamed.download_file().readall() == b"hello, world"
    assert seeded.requests[-2].header("x-ms-file-rename-source").endswith("/docs/dir/hello.txt")
    with pytest.raises(ResourceNotFoundError):
        share.get_file_client("dir/hello.txt").get_file_properties()
    renamed.delete_file()
    share.get_directory_client("dir").delete_directory()
    assert [i.name for i in share.list_directories_and_files()] == []
    share.delete_share()
    assert [s.name for s in service(seeded).list_shares()] == []


def test_renaming_onto_an_existing_file_without_replace_fails_409_and_with_replace_overwrites(seeded):
    share = service(seeded).get_share_client("docs")
    share.get_file_client("dir/other.txt").upload_file(b"other")
    source = share.get_file_client("dir/hello.txt")

    with pytest.raises(ResourceExistsError) as caught:
        source.rename_file("dir/other.txt")
    assert caught.value.status_code == 409 and caught.value.error_code == "ResourceAlreadyExists"
    assert seeded.file_bytes("docs", "dir/other.txt") == b"other"

    source.rename_file("dir/other.txt", overwrite=True)
    assert seeded.file_bytes("docs", "dir/other.txt") == b"hello, world"


def test_create_file_on_an_existing_file_replaces_it_as_azure_does(seeded):
    file = service(seeded).get_share_client("docs").get_file_client("dir/hello.txt")
    file.create_file(4)
    assert file.download_file().readall() == b"\0\0\0\0"


def test_upload_range_writes_into_a_created_file(standin):
    file = service(standin).create_share("ranges").get_file_client("f.bin")
    file.create_file(10)
    file.upload_range(b"abc", offset=4, length=3)
    assert file.download_file().readall() == b"\0\0\0\0abc\0\0\0"


def test_a_wrong_account_key_raises_client_authentication_error(standin):
    wrong = service(standin, {"account_name": ACCOUNT, "account_key": OTHER_KEY})
    with pytest.raises(ClientAuthenticationError) as caught:
        wrong.create_share("nope")
    assert caught.value.status_code == 403 and caught.value.error_code == "AuthenticationFailed"
    assert standin.shares == {}


def send(standin, method: str, path: str, headers=None) -> tuple[int, str | None, bytes]:
    """A raw HTTP request, bypassing the SDK: (status, x-ms-error-code, body)."""
    conn = http.client.HTTPConnection("127.0.0.1", standin.port, timeout=5)
    try:
        conn.request(method, path, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.getheader("x-ms-error-code"), response.read()
    finally:
        conn.close()


def test_a_signed_request_replayed_with_another_verb_or_path_is_refused(seeded):
    signed = next(r for r in seeded.requests if r.method == "PUT" and r.q.get("restype") == "directory")
    headers = {k: v for k, v in signed.headers.items() if k.lower() not in ("host", "content-length")}
    share_path = f"/{ACCOUNT}/docs?restype=share"

    assert send(seeded, "GET", f"{signed.raw_path}?restype=directory", headers)[:2] == (403, "AuthenticationFailed")
    status, code, body = send(seeded, "PUT", f"/{ACCOUNT}/docs/elsewhere?restype=directory", headers)
    assert (status, code) == (403, "AuthenticationFailed") and b"<Code>AuthenticationFailed</Code>" in body
    assert send(seeded, "PUT", f"{signed.raw_path}?restype=directory", headers)[:2] == (409, "ResourceAlreadyExists")
    assert send(seeded, "GET", share_path)[:2] == (401, "NoAuthenticationInformation")


def test_a_request_without_credentials_gets_401_no_authentication_information_in_azure_xml(standin):
    status, code, body = send(standin, "GET", f"/{ACCOUNT}/?comp=list")
    assert (status, code) == (401, "NoAuthenticationInformation")
    assert body.decode().startswith(
        '<?xml version="1.0" encoding="utf-8"?><Error><Code>NoAuthenticationInformation</Code>'
    )


def test_an_https_only_sas_works_over_tls_and_is_refused_over_http(standin, tmp_path):
    ca = trustme.CA()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    https_only = account_sas("rwdlc", protocol="https")
    with FileShareStandin(ACCOUNT, KEY, ssl_context=context) as secure:
        client = service(secure, https_only, connection_verify=str(tmp_path / "ca.pem"))
        client.create_share("over-tls")
        assert secure.account_url.startswith("https://") and [s.name for s in client.list_shares()] == ["over-tls"]
    with pytest.raises(HttpResponseError) as caught:
        list(service(standin, https_only).list_shares())
    assert caught.value.status_code == 403 and caught.value.error_code == "AuthorizationProtocolMismatch"


# --------------------------------------------------------------------------- errors


def test_an_operation_the_stand_in_lacks_answers_501_rather_than_pretending(seeded):
    with pytest.raises(HttpResponseError) as caught:
        service(seeded).get_share_client("docs").create_snapshot()
    assert caught.value.status_code == 501 and caught.value.error_code == "StandinNotImplemented"


def test_a_missing_share_gives_resource_not_found_with_share_not_found(standin):
    share = service(standin).get_share_client("missing")
    with pytest.raises(ResourceNotFoundError) as caught:
        share.get_share_properties()
    assert caught.value.status_code == 404 and caught.value.error_code == "ShareNotFound"
    with pytest.raises(ResourceNotFoundError) as caught:  # HEAD: the code travels in x-ms-error-code only
        share.get_file_client("a.txt").get_file_properties()
    assert caught.value.error_code == "ShareNotFound"


def test_a_missing_parent_directory_gives_parent_not_found(seeded):
    share = service(seeded).get_share_client("docs")
    with pytest.raises(ResourceNotFoundError) as caught:
        share.get_file_client("no/such/file.txt").upload_file(b"x")
    assert caught.value.error_code == "ParentNotFound"
    with pytest.raises(ResourceNotFoundError) as caught:
        share.get_file_client("dir/absent.txt").download_file()
    assert caught.value.error_code == "ResourceNotFound"


def test_creating_an_existing_share_or_directory_raises_resource_exists(seeded):
    client = service(seeded)
    with pytest.raises(ResourceExistsError) as caught:
        client.create_share("docs")
    assert caught.value.error_code == "ShareAlreadyExists"
    with pytest.raises(ResourceExistsError) as caught:
        client.get_share_client("docs").create_directory("dir")
    assert caught.value.error_code == "ResourceAlreadyExists"


def test_deleting_a_non_empty_directory_is_refused_with_409(seeded):
    with pytest.raises(HttpResponseError) as caught:
        service(seeded).get_share_client("docs").get_directory_client("dir").delete_directory()
    assert caught.value.status_code == 409 and caught.value.error_code == "DirectoryNotEmpty"


# --------------------------------------------------------------------------- SAS


def test_an_account_sas_round_trips_share_directory_file_and_listing(standin):
    client = service(standin, account_sas("rwdlc"))
    share = client.create_share("via-sas")
    share.create_directory("d")
    file = share.get_file_client("d/f.txt")
    file.upload_file(b"sas data")

    assert file.download_file().readall() == b"sas data"
    assert [i.name for i in share.get_directory_client("d").list_directories_and_files()] == ["f.txt"]
    assert [s.name for s in client.list_shares()] == ["via-sas"]
    sent = standin.requests[-1]
    assert "sig" in sent.q and not sent.header("Authorization")
    file.delete_file()
    share.delete_share()


def test_a_sas_signed_with_the_wrong_key_is_refused(seeded):
    client = service(seeded, account_sas("rwdlc", key=OTHER_KEY))
    with pytest.raises(ClientAuthenticationError) as caught:
        list(client.list_shares())
    assert caught.value.status_code == 403 and caught.value.error_code == "AuthenticationFailed"


def test_an_expired_sas_is_refused_with_authentication_failed(seeded):
    expired = account_sas("rwdlc", start=soon(hours=-2), expiry=soon(minutes=-1))
    with pytest.raises(ClientAuthenticationError) as caught:
        service(seeded, expired).get_share_client("docs").get_file_client("dir/hello.txt").download_file()
    assert caught.value.error_code == "AuthenticationFailed"
    assert "not valid in the specified time frame" in caught.value.message


def test_a_sas_that_is_not_yet_valid_is_refused(seeded):
    early = account_sas("rwdlc", start=soon(hours=1), expiry=soon(hours=2))
    with pytest.raises(ClientAuthenticationError):
        list(service(seeded, early).list_shares())


def test_a_sas_without_list_permission_is_refused_on_list_but_can_read(seeded):
    share = service(seeded, account_sas("r")).get_share_client("docs")
    with pytest.raises(HttpResponseError) as caught:
        list(share.list_directories_and_files())
    assert caught.value.status_code == 403 and caught.value.error_code == "AuthorizationPermissionMismatch"
    assert not isinstance(caught.value, ClientAuthenticationError)
    assert share.get_file_client("dir/hello.txt").download_file().readall() == b"hello, world"


def test_a_sas_without_write_or_create_permission_cannot_upload(seeded):
    file = service(seeded, account_sas("rl")).get_share_client("docs").get_file_client("dir/new.txt")
    with pytest.raises(HttpResponseError) as caught:
        file.upload_file(b"data")
    assert caught.value.status_code == 403 and caught.value.error_code == "AuthorizationPermissionMismatch"


def test_a_create_only_sas_makes_new_files_but_cannot_overwrite_or_write_ranges(seeded):
    share = service(seeded, account_sas("c")).get_share_client("docs")
    share.get_file_client("dir/new.txt").create_file(5)
    for action in (
        lambda: share.get_file_client("dir/hello.txt").create_file(1),
        lambda: share.get_file_client("dir/new.txt").upload_range(b"abcde", offset=0, length=5),
    ):
        with pytest.raises(HttpResponseError) as caught:
            action()
        assert caught.value.error_code == "AuthorizationPermissionMismatch"


def test_an_account_sas_without_the_service_resource_type_cannot_list_shares(seeded):
    with pytest.raises(HttpResponseError) as caught:
        list(service(seeded, account_sas("rwdlc", resource_types="co")).list_shares())
    assert caught.value.status_code == 403 and caught.value.error_code == "AuthorizationResourceTypeMismatch"


def test_a_share_sas_works_inside_its_share_only(seeded):
    service(seeded).create_share("other")
    sas = generate_share_sas(
        ACCOUNT, "docs", KEY, permission=ShareSasPermissions(read=True, list=True), expiry=soon(hours=1)
    )
    client = service(seeded, sas)
    assert [i.name for i in client.get_share_client("docs").list_directories_and_files()] == ["dir"]
    with pytest.raises(ClientAuthenticationError):
        list(client.get_share_client("other").list_directories_and_files())


def test_a_file_sas_reads_its_file_and_no_other(seeded):
    service(seeded).get_share_client("docs").get_file_client("dir/secret.txt").upload_file(b"secret")
    sas = generate_file_sas(
        ACCOUNT, "docs", ["dir", "hello.txt"], KEY, permission=FileSasPermissions(read=True), expiry=soon(hours=1)
    )
    # ShareFileClient.from_file_url cannot be used: it drops the scheme and expects the account in the host name.
    file = ShareFileClient(seeded.account_url, "docs", "dir/hello.txt", credential=sas, **TIMEOUTS)
    assert file.download_file().readall() == b"hello, world"
    other = ShareFileClient(seeded.account_url, "docs", "dir/secret.txt", credential=sas, **TIMEOUTS)
    with pytest.raises(ClientAuthenticationError):
        other.download_file()
