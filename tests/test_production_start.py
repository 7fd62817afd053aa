"""The production image's start command and health check, run as the image runs them, outside
Docker (no engine here): DEBUG off, ALLOWED_HOSTS=studio.example.com, HTTPS redirect and secure
cookies on, PostgreSQL as the app database with a password, real keys, every secret read from a
file as compose.yaml passes them. The commands come from the Dockerfile (tests/production.py).

The app database sits behind a TCP proxy, so a test can take the database away and bring it back.
"""

from __future__ import annotations

import os
import secrets
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest
import requests

from .production import (
    BehindTheProxy,
    StudioProcess,
    SwitchableProxy,
    Throttled,
    production_env,
    read_slowly,
)
from .sql.servers import create_database, drop_database, server_url
from .support import free_port

MIB = 1024 * 1024

# They start studios of their own on a PostgreSQL database of their own, whatever the suite's app
# database is: once per scripts/test is enough.
pytestmark = pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith("postgres"),
    reason="runs in the PostgreSQL pass of scripts/test (PG=1 with devtools' pt)",
)


@pytest.fixture(scope="module")
def app_database():
    """A fresh, empty PostgreSQL database with a password-protected owner, behind a switchable proxy."""
    database = create_database(server_url("STUDIO_TEST_POSTGRES_URL"))
    proxy = SwitchableProxy(database.port)
    yield database, proxy
    proxy.down()
    drop_database(database)


@pytest.fixture(scope="module")
def secret_files(tmp_path_factory, app_database) -> dict[str, str]:
    """The secrets as files (ending in a newline, as `echo` writes them), named by NAME_FILE variables."""
    from cryptography.fernet import Fernet

    database, _proxy = app_database
    folder: Path = tmp_path_factory.mktemp("secrets")
    values = {
        "SECRET_KEY": secrets.token_urlsafe(64),
        "DATASTORE_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "DATABASE_PASSWORD": database.password,
    }
    named = {}
    for name, value in values.items():
        path = folder / name.lower()
        path.write_text(value + "\n")
        named[f"{name}_FILE"] = str(path)
    return named


@pytest.fixture
def studio_env(app_database, secret_files) -> dict[str, str]:
    database, proxy = app_database
    env = production_env(
        # the password stays out of the URL, as in compose.yaml
        DATABASE_URL=f"postgres://{database.user}@127.0.0.1:{proxy.port}/{database.name}",
        PORT=str(free_port()),
        **secret_files,
    )
    for name in ("SECRET_KEY", "DATASTORE_ENCRYPTION_KEYS"):
        env.pop(name, None)
    return env


@pytest.fixture
def studio(studio_env, tmp_path):
    """The image's CMD, not started yet; killed at teardown if a test left it running."""
    process = StudioProcess(studio_env, tmp_path / "studio.log")
    yield process
    process.kill()


def applied_migrations(database) -> int:
    with psycopg.connect(database.url, dbname=database.name, autocommit=True) as admin:
        return admin.execute("SELECT count(*) FROM django_migrations").fetchone()[0]  # type: ignore[index]  # a count


def assert_quiet(log: str) -> None:
    assert "Traceback" not in log, log
    assert "Invalid HTTP_HOST" not in log, log


def test_the_start_command_migrates_serves_and_passes_the_image_health_check_under_production_settings(
    studio, app_database
):
    database, _proxy = app_database
    studio.start()
    studio.wait_healthy()
    first_log = studio.log()
    assert "Applying datastores.0001_initial... OK" in first_log
    migrations = applied_migrations(database)

    # The probe's own request: Host 127.0.0.1, plain http. Anything else still gets the real settings.
    health = requests.get(studio.url("/healthz"), timeout=10, allow_redirects=False)
    assert (health.status_code, health.json()) == (200, {"status": "ok"})
    page = requests.get(studio.url("/"), headers={"Host": "studio.example.com"}, timeout=10, allow_redirects=False)
    assert (page.status_code, page.headers["Location"]) == (301, "https://studio.example.com/")
    assert studio.terminate() < 10
    assert studio.process.returncode == 0
    assert_quiet(studio.log())

    studio.start()  # a second start, on the migrated database
    studio.wait_healthy()
    second_log = studio.log()
    assert "no migrations to apply" in second_log
    assert "Applying" not in second_log
    assert applied_migrations(database) == migrations
    assert studio.terminate() < 10
    assert_quiet(studio.log())


def test_the_health_check_fails_with_503_while_the_database_is_down_and_passes_again_when_it_is_back(
    studio, app_database
):
    _database, proxy = app_database
    studio.start()
    studio.wait_healthy()
    proxy.down()
    try:
        check = studio.health_check()
        assert check.returncode != 0
        assert "503" in check.stdout
        health = requests.get(studio.url("/healthz"), timeout=30)
        assert (health.status_code, health.json()["status"]) == (503, "unavailable")
    finally:
        proxy.up()
    studio.wait_healthy(30)
    log = studio.log()
    assert "Health check: the database does not answer (OperationalError" in log
    assert_quiet(log)
    studio.terminate()


def test_two_studios_starting_at_once_on_a_new_database_migrate_it_once_and_both_serve(tmp_path):
    """As two containers of one compose project, or an old and a new one in a rolling update."""
    database = create_database(server_url("STUDIO_TEST_POSTGRES_URL"))
    studios = []
    try:
        for number in (1, 2):
            env = production_env(
                DATABASE_URL=f"postgres://{database.user}:{database.password}@127.0.0.1:{database.port}/{database.name}",
                PORT=str(free_port()),
            )
            studios.append(StudioProcess(env, tmp_path / f"studio-{number}.log"))
        for studio in studios:
            studio.start()
        for studio in studios:
            studio.wait_healthy()
        logs = [studio.log() for studio in studios]
        assert sum("Applying datastores.0001_initial... OK" in log for log in logs) == 1, logs
        assert sum("no migrations to apply" in log for log in logs) == 1, logs
        for studio in studios:
            studio.terminate()
            assert_quiet(studio.log())
    finally:
        for studio in studios:
            studio.kill()
        drop_database(database)


@pytest.fixture
def signed_in(studio, azurite_url):
    """A user and a workspace made with manage.py, and a session signed in through the login form."""
    password = secrets.token_urlsafe(16)
    workspace = f"prod-{uuid.uuid4().hex[:8]}"
    studio.env["PROD_TEST_PASSWORD"] = password
    code = (
        "import os\n"
        "from django.contrib.auth import get_user_model\n"
        "from datastores.access import Actor\n"
        "from datastores.services import workspace_create, WORKSPACE_BLOB_STORE\n"
        "user = get_user_model().objects.create_user(\n"
        "    'operator-' + os.urandom(4).hex(), password=os.environ['PROD_TEST_PASSWORD']\n"
        ")\n"
        f"ws = workspace_create(actor=Actor(user=user), name={workspace!r})\n"
        "print(user.username, ws.datastores.get(name=WORKSPACE_BLOB_STORE).connection_settings['container_name'])\n"
    )
    studio.start()
    studio.wait_healthy()
    username, container = studio.manage("shell", "-c", code).split()[-2:]
    session = BehindTheProxy()
    session.sign_in(studio, username, password)
    files = studio.url(f"/workspaces/{workspace}/datastores/workspaceblobstore/files/")
    return session, files, container


def upload(session: BehindTheProxy, url: str, body: Throttled) -> requests.Response:
    return session.put(url, params={"overwrite": "1"}, data=body, headers=session.write_headers(), timeout=120)


def stored_size(blob_service, container: str, name: str) -> int | None:
    blob = blob_service.get_container_client(container).get_blob_client(name)
    return blob.get_blob_properties().size if blob.exists() else None


@pytest.fixture
def short_worker_timeout(studio_env):
    studio_env["GUNICORN_TIMEOUT"] = "3"


def test_an_upload_and_a_download_longer_than_the_worker_timeout_complete(
    short_worker_timeout, signed_in, blob_service, studio
):
    """GUNICORN_TIMEOUT is 3 s; each transfer takes about 8 s. A sync worker would be killed midway."""
    session, files, container = signed_in
    size = 16 * MIB
    started = time.monotonic()
    response = upload(session, files + "slow/up.bin", Throttled(size, rate=size / 8))
    assert time.monotonic() - started > 6
    assert (response.status_code, response.json()["outcome"]) == (200, "uploaded")
    assert stored_size(blob_service, container, "slow/up.bin") == size

    started = time.monotonic()
    with session.get(files + "slow/up.bin", stream=True, timeout=120) as download:
        assert download.status_code == 200
        assert read_slowly(download, rate=size / 8) == size
    assert time.monotonic() - started > 6
    assert "WORKER TIMEOUT" not in studio.log()
    studio.terminate()
    assert_quiet(studio.log())


@pytest.fixture
def short_grace(studio_env):
    studio_env["GUNICORN_GRACEFUL_TIMEOUT"] = "8"


def test_sigterm_lets_a_running_upload_finish_and_cuts_one_that_outlasts_the_grace_period(
    short_grace, signed_in, blob_service, studio
):
    """GUNICORN_GRACEFUL_TIMEOUT is 8 s. An upload of about 5 s in flight at SIGTERM is stored whole;
    one of about 60 s is cut when the grace period ends, leaves nothing behind, and the server is gone
    by then."""
    session, files, container = signed_in
    outcomes: dict[str, object] = {}

    def send(name: str, seconds: float) -> None:
        size = 16 * MIB
        try:
            outcomes[name] = upload(session_copy(session), files + name, Throttled(size, rate=size / seconds))
        except requests.ConnectionError as error:
            outcomes[name] = error

    short = threading.Thread(target=send, args=("shutdown/short.bin", 5))
    long = threading.Thread(target=send, args=("shutdown/long.bin", 60))
    short.start()
    long.start()
    time.sleep(1.5)
    stopped_in = studio.terminate(wait=30)
    short.join(30)
    long.join(30)

    assert 3 < stopped_in < 8 + 3
    finished = outcomes["shutdown/short.bin"]
    assert isinstance(finished, requests.Response) and finished.status_code == 200, finished
    assert stored_size(blob_service, container, "shutdown/short.bin") == 16 * MIB
    cut = outcomes["shutdown/long.bin"]
    assert not (isinstance(cut, requests.Response) and cut.status_code == 200), cut
    assert stored_size(blob_service, container, "shutdown/long.bin") is None
    with pytest.raises(requests.ConnectionError):
        requests.get(urlsplit(files)._replace(path="/healthz").geturl(), timeout=5)


def session_copy(session: BehindTheProxy) -> BehindTheProxy:
    """A second connection pool with the same signed-in cookies (requests sessions are not thread-safe)."""
    copy = BehindTheProxy()
    copy.cookies.update(session.cookies)
    return copy
