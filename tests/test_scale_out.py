"""Two studio processes started separately, on one database and one SECRET_KEY, act as one studio:
a session signed in on one works on the other, a CSRF token one handed out is good on the other,
signing out on one ends the session on both, and a rate limit counts requests wherever they land
(the cache is a table of the shared database; a per-process cache would count each process alone).

Each process is the image's start command (tests/production.py: migrate, then gunicorn with the
production gunicorn.conf.py), on its own port, on this test run's own database (SQLite or
PostgreSQL, whichever the pass uses), so the test runs in both.
"""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
import threading
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest
import requests
from django.db import connection

from datastores.access import Actor
from datastores.services import WORKSPACE_BLOB_STORE, workspace_create

from .production import StudioProcess
from .support import free_port, sqlite_pass_only

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "scale-out-" + uuid.uuid4().hex
# Two requests that reach storage per user an hour: the third is refused, whichever process counts it.
CHECK_RATE = "2/h"

pytestmark = pytest.mark.django_db(transaction=True)  # the processes read what the test writes


def database_url() -> str:
    """This test run's database, as DATABASE_URL names it for another process."""
    settings = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{settings['NAME']}"
    assert connection.vendor == "postgresql", connection.vendor
    login = quote(settings["USER"], safe="")
    if settings["PASSWORD"]:
        login += ":" + quote(settings["PASSWORD"], safe="")
    return f"postgres://{login}@{settings['HOST']}:{settings['PORT']}/{settings['NAME']}"


@pytest.fixture
def studios(tmp_path):
    """Two studios, each the image's start command (migrate, then gunicorn), on its own port."""
    started = []
    for number in (1, 2):
        env = {
            **os.environ,
            "DATABASE_URL": database_url(),
            "PORT": str(free_port()),
            "DEBUG": "false",
            "SECURE_SSL_REDIRECT": "false",
            "SECURE_COOKIES": "false",  # plain http on loopback
            "ALLOWED_HOSTS": "127.0.0.1",
            "GUNICORN_WORKERS": "1",
            "GUNICORN_THREADS": "4",
            "STORAGE_CHECK_RATE_PER_USER": CHECK_RATE,
            "PYTHONUNBUFFERED": "1",
        }
        env.pop("CACHE_URL", None)  # the default cache, whatever the shell has
        started.append(StudioProcess(env, tmp_path / f"studio-{number}.log"))
    try:
        for studio in started:
            studio.start()
        for studio in started:
            studio.wait_healthy(60)
        yield started
        for studio in started:
            studio.terminate()
            assert "Traceback" not in studio.log(), studio.log()
    finally:
        for studio in started:
            studio.kill()


@pytest.fixture
def workspace(django_user_model):
    user = django_user_model.objects.create_user("scaler", password=PASSWORD)
    return workspace_create(actor=Actor(user=user), name=f"scale-{uuid.uuid4().hex[:8]}")


def csrf_token_in(page: str) -> str:
    found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert found, "the page has no CSRF-protected form"
    return found[1]


def test_a_session_and_a_csrf_token_from_one_studio_process_work_on_another(studios, workspace):
    first, second = studios
    datastores = f"/workspaces/{workspace.name}/datastores/"
    detail = f"{datastores}{WORKSPACE_BLOB_STORE}/"
    test_connection = f"{detail}test-connection/"

    # Signed in on the first, through its sign-in form.
    on_first = requests.Session()
    form = on_first.get(first.url("/accounts/login/"), timeout=30)
    signed_in = on_first.post(
        first.url("/accounts/login/"),
        data={"username": "scaler", "password": PASSWORD, "csrfmiddlewaretoken": csrf_token_in(form.text)},
        allow_redirects=False,
        timeout=30,
    )
    assert signed_in.status_code == 302, signed_in.text[:500]
    token = csrf_token_in(on_first.get(first.url(detail), timeout=30).text)  # the Test connection form's

    # The second never saw this browser before: without its cookies it sends it to sign in ...
    stranger = requests.get(second.url(datastores), allow_redirects=False, timeout=30)
    assert stranger.status_code == 302 and stranger.headers["Location"].startswith("/accounts/login/")
    # ... and with them it shows the workspace's datastores.
    on_second = requests.Session()
    on_second.cookies.update(on_first.cookies)
    page = on_second.get(second.url(datastores), allow_redirects=False, timeout=30)
    assert page.status_code == 200
    assert workspace.name in page.text and WORKSPACE_BLOB_STORE in page.text

    # A CSRF-protected POST on the second, with the token the first put in its form: the check runs.
    without_token = on_second.post(second.url(test_connection), allow_redirects=False, timeout=30)
    assert without_token.status_code == 403
    checked = on_second.post(second.url(test_connection), data={"csrfmiddlewaretoken": token}, timeout=60)
    assert checked.status_code == 200
    assert "Connection succeeded: the stored credentials reach the data." in checked.text

    # The rate limit counts in the shared cache: one more on the first is the second allowed, the
    # next on the second is refused (counted per process, it would be only that process's second).
    assert on_first.post(first.url(test_connection), data={"csrfmiddlewaretoken": token}, timeout=60).ok
    refused = on_second.post(second.url(test_connection), data={"csrfmiddlewaretoken": token}, timeout=60)
    assert refused.status_code == 429
    assert "Too many requests that reach a storage service from this account." in refused.text

    # Signing out on the second ends the session the first signed in.
    out = on_second.post(second.url("/accounts/logout/"), data={"csrfmiddlewaretoken": token}, timeout=30)
    assert out.ok
    after = on_first.get(first.url(datastores), allow_redirects=False, timeout=30)
    assert after.status_code == 302 and after.headers["Location"].startswith("/accounts/login/")


def test_increments_made_at_once_from_many_connections_are_all_counted():
    """django-ratelimit counts with cache.incr. Django's own DatabaseCache reads then writes, so two
    requests at once can count as one; the studio's holds the row meanwhile (studio/cache.py)."""
    from django.core.cache import cache
    from django.db import connections

    key = f"count-{uuid.uuid4().hex}"
    cache.add(key, 0, 600)
    threads, each = 6, 15
    start = threading.Barrier(threads)

    def count() -> None:
        try:
            start.wait()
            for _ in range(each):
                cache.incr(key)
        finally:
            connections.close_all()  # this thread's own connection

    workers = [threading.Thread(target=count) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(120)
    assert cache.get(key) == threads * each


@sqlite_pass_only("migrating a fresh SQLite file")
def test_migrate_makes_the_cache_table(tmp_path):
    """A new deployment runs migrate and nothing else: the rate limits' table is then there."""
    database = tmp_path / "fresh.sqlite3"
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{database}"}
    env.pop("CACHE_URL", None)
    done = subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    with sqlite3.connect(database) as fresh:
        tables = {name for (name,) in fresh.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert "studio_cache" in tables
