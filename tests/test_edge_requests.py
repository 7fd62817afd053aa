"""Bounded size and rate at the studio's own edge, pages that leak nothing, a policy on every
page, zips that stay in their folder, and no start with .env.example's placeholder key."""

from __future__ import annotations

import io
import re
import socket
import time
import urllib.request
import zipfile
from urllib.parse import urlsplit

import pytest
from django.urls import reverse

from datastores import services

from .support import start_django

pytestmark = pytest.mark.django_db


# --- bodies of requests that are not signed in ---------------------------------------------


def _send_headers_only(live_server_url: str, path: str, length: int, content_type: str) -> tuple[bytes, float]:
    """Announce a body of `length` bytes, send 64 KiB of it, and read what the server answers
    meanwhile: a server that wanted the whole body would answer nothing."""
    address = urlsplit(live_server_url)
    # With a CSRF cookie, as an attacker gets from the sign-in page: the CSRF check then reads the body.
    with urllib.request.urlopen(f"{live_server_url}{reverse('login')}") as page:
        cookie = page.headers["Set-Cookie"].split(";")[0]
    started = time.monotonic()
    with socket.create_connection((address.hostname, address.port), timeout=5) as sock:
        sock.sendall(
            f"POST {path} HTTP/1.1\r\nHost: {address.netloc}\r\nContent-Type: {content_type}\r\n"
            f"Cookie: {cookie}\r\nContent-Length: {length}\r\n\r\n".encode()
        )
        try:  # the start of a real multipart upload: a server that parses it waits for the rest
            sock.sendall(
                b'------x\r\nContent-Disposition: form-data; name="f"; filename="a.bin"\r\n'
                b"Content-Type: application/octet-stream\r\n\r\n" + b"x" * 65536
            )
        except OSError:
            pass  # the server already answered and closed
        answer = b""
        try:
            while chunk := sock.recv(4096):
                answer += chunk
                if b"\r\n\r\n" in answer:
                    break
        except TimeoutError:
            pass
    return answer, time.monotonic() - started


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("path_name", ["login", "workspace_list"])
def test_a_large_anonymous_post_is_refused_before_its_body_is_read(live_server, path_name):
    answer, elapsed = _send_headers_only(
        live_server.url, reverse(path_name), 500 * 1024 * 1024, "multipart/form-data; boundary=----x"
    )
    assert answer.startswith(b"HTTP/1.1 413"), answer[:100]
    assert elapsed < 4


def test_the_sign_in_form_still_takes_a_small_body(anonymous_client, django_user_model):
    django_user_model.objects.create_user(username="grace", password="a-long-enough-password-1")
    response = anonymous_client.post(reverse("login"), {"username": "grace", "password": "a-long-enough-password-1"})
    assert response.status_code == 302


def test_a_sign_in_body_over_a_few_kib_is_refused(anonymous_client):
    response = anonymous_client.post(reverse("login"), {"username": "x" * 5000, "password": "y"})
    assert response.status_code == 413


# --- uploads ---------------------------------------------------------------------------------


def test_an_upload_over_max_upload_bytes_is_refused_with_413_before_it_is_read(
    client, workspace, settings, blob_service
):
    settings.MAX_UPLOAD_BYTES = 1000
    url = reverse("datastore_file", args=[workspace.name, "workspaceblobstore", "big.bin"])
    response = client.put(url, b"x" * 1001, content_type="application/octet-stream")
    assert response.status_code == 413
    assert "1000 bytes at most" in response.json()["message"]
    container = blob_service.get_container_client(f"azureml-blobstore-{workspace.uid}")
    assert not container.get_blob_client("big.bin").exists()
    assert client.put(url, b"x" * 1000, content_type="application/octet-stream").status_code == 200


# --- rate limits -------------------------------------------------------------------------------


def test_test_connection_is_rate_limited_per_user_with_a_wait_time(client, workspace, settings):
    settings.STORAGE_CHECK_RATE_PER_USER = "2/m"
    url = reverse("datastore_test_connection", args=[workspace.name, "workspaceblobstore"])
    for _ in range(2):
        assert client.post(url, headers={"HX-Request": "true"}).status_code == 200
    response = client.post(url, headers={"HX-Request": "true"})
    assert response.status_code == 429
    assert re.search(r"Try again in \d+ seconds", response.content.decode())
    assert int(response["Retry-After"]) >= 1


def test_registration_is_rate_limited_per_client_address(client, workspace, settings, django_user_model):
    settings.STORAGE_CHECK_RATE_PER_ADDRESS = "1/m"
    url = reverse("datastore_new", args=[workspace.name])
    assert client.post(url, {"name": "x", "storage_type": "DBFS", "auth_type": "none"}).status_code in (200, 302)
    other = django_user_model.objects.create_user(username="other")
    client.force_login(other)
    response = client.post(url, {"name": "y", "storage_type": "DBFS", "auth_type": "none"})
    assert response.status_code == 429
    assert "from this address" in response.content.decode()


def test_sign_in_is_locked_after_repeated_failures_with_a_wait_time(anonymous_client, django_user_model, settings):
    django_user_model.objects.create_user(username="grace", password="a-long-enough-password-1")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        anonymous_client.post(reverse("login"), {"username": "grace", "password": "wrong"})
    response = anonymous_client.post(reverse("login"), {"username": "grace", "password": "a-long-enough-password-1"})
    assert response.status_code == 429
    assert re.search(r"Try again in \d+ seconds", response.content.decode())


# --- pages ------------------------------------------------------------------------------------------


def test_every_html_page_has_a_content_security_policy_without_unsafe_inline(client, workspace):
    for url in (
        reverse("workspace_list"),
        reverse("datastore_list", args=[workspace.name]),
        reverse("datastore_new", args=[workspace.name]),
        reverse("datastore_detail", args=[workspace.name, "workspaceblobstore"]),
    ):
        response = client.get(url)
        policy = response["Content-Security-Policy"]
        assert "default-src 'self'" in policy and "script-src 'self'" in policy and "style-src 'self'" in policy
        assert "unsafe-inline" not in policy
        page = response.content.decode()
        assert not re.search(r"<script(?![^>]*\bsrc=)", page), "an inline script"
        assert not re.search(r"<style|\sstyle=", page), "an inline style"


def test_the_sign_in_page_has_the_policy_too(anonymous_client):
    assert "default-src 'self'" in anonymous_client.get(reverse("login"))["Content-Security-Policy"]


# --- zips ---------------------------------------------------------------------------------------------


def test_a_zip_never_holds_a_name_that_escapes_its_folder_and_says_which_it_left_out(client, workspace, dbfs):
    """DBFS stand-in: it stores any name, as a real service may (Azurite refuses some)."""
    from datastores.streams import SKIPPED_ENTRIES_NAME

    for name, data in {
        "data/ok.txt": b"fine",
        "data/..\\..\\evil.txt": b"escape",
        "data/a\\..\\..\\win.txt": b"w",
        "data/C:/x.txt": b"drive",
        "data/bell\x07.txt": b"control",
        "data/sub/good.txt": b"also fine",
    }.items():
        dbfs.put(name, data)
    services.datastore_register(
        workspace=workspace, name="bricks", storage_type="DBFS", auth_type="none", values=dict(dbfs.connection().values)
    )
    response = client.get(reverse("datastore_folder_zip", args=[workspace.name, "bricks"]) + "?path=data")
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    names = archive.namelist()
    assert "ok.txt" in names and "sub/good.txt" in names and SKIPPED_ENTRIES_NAME in names
    assert all(".." not in name.split("/") and "\\" not in name and ":" not in name for name in names)
    report = archive.read(SKIPPED_ENTRIES_NAME).decode()
    assert "could escape the folder" in report and "evil.txt" in report and "win.txt" in report
    assert archive.read("ok.txt") == b"fine"


# --- start-up --------------------------------------------------------------------------------------------


def test_the_placeholder_secret_key_of_env_example_is_refused_at_start_up():
    from pathlib import Path

    from cryptography.fernet import Fernet

    example = (Path(__file__).resolve().parent.parent / ".env.example").read_text()
    found = re.search(r"^SECRET_KEY=(.*)$", example, re.M)
    assert found, ".env.example has a SECRET_KEY line"
    placeholder = found.group(1)
    result = start_django(SECRET_KEY=placeholder, DATASTORE_ENCRYPTION_KEYS=Fernet.generate_key().decode())
    assert result.returncode != 0
    assert "SECRET_KEY is missing or weak" in result.stderr


@pytest.mark.parametrize(
    "name", ["../x", "a/../../x", "/etc/passwd", "a\\..\\x", "C:/x", "a//b", "./x", "a/\x00b", "a/", ""]
)
def test_a_name_that_could_escape_its_folder_is_never_a_zip_entry_name(name):
    from datastores.streams import safe_zip_name

    assert not safe_zip_name(name)
    assert safe_zip_name("folder/sub/file.txt")
