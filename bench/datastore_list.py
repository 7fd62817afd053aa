"""Bench: the datastore list page of a workspace with 10,000 datastores against one with 10.

It migrates a throwaway app database (SQLite in a temporary folder, or with
STUDIO_BENCH_POSTGRES_URL a new database on that PostgreSQL), makes two workspaces, fills one
with 10 datastores and the other with --datastores (bulk-created copies of a Blob and a File
Share datastore registered without a check, with every health and one default), then requests
the list page through Django's full request/response stack (django.test.Client, in this
process), as a browser would (the whole page) and as htmx does (the table alone):

  - the first page;
  - a page half-way down (?page=N/2; at 10 datastores there is one page, so page 1);
  - a filtered page (name contains "store0", Blob Storage, health Passed).

It prints the median server time of each, the ratio big/small (target: at most 2) and the SQL
queries per page (target: the same for both).

    bench/run-datastore-list                      # SQLite, then PostgreSQL
    .venv/bin/python bench/datastore_list.py --datastores 2000 --repeat 5
    STUDIO_BENCH_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/datastore_list.py
"""

from __future__ import annotations

import argparse
import base64
import os
import secrets
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import activity  # noqa: E402

HTMX = {"HX-Request": "true", "HX-Target": "datastore-table"}
RATIO_TARGET = 2.0
HEALTH = [True, False, None]  # the filled datastores' last checks, in turn


def setup_django(database_url: str) -> None:
    """bench/activity.py's settings, with a workspace storage account key that parses (the
    datastores here are registered on it, without a check)."""
    activity.setup_django(database_url)
    from django.conf import settings

    key = base64.b64encode(secrets.token_bytes(64)).decode()
    settings.WORKSPACE_STORAGE_CONNECTION_STRING = (
        f"DefaultEndpointsProtocol=https;AccountName=bench;AccountKey={key};EndpointSuffix=core.windows.net"
    )


def models_for(workspace) -> list:
    """A Blob Storage and a File Share datastore on the workspace storage account, registered
    through the service without a check (no network): the rows the others are copies of."""
    from django.conf import settings

    from datastores.services import datastore_register
    from datastores.storage import workspace_stores

    return [
        datastore_register(
            workspace=workspace,
            name=store.name,
            storage_type=store.storage_type,
            auth_type=store.auth_type,
            values={**store.values, "skip_validation": True},
            unchecked_reason="bench",
        )
        for store in workspace_stores(settings.WORKSPACE_STORAGE_CONNECTION_STRING, str(workspace.uid))
    ]


def fill(workspace, count: int) -> None:
    """`count` datastores in all: the two models, then store00000, store00001, ... alternating
    them, each health in turn, store00000 the default."""
    from django.utils import timezone

    from tests.fill import fill_datastores

    models = models_for(workspace)
    fill_datastores(
        workspace,
        count - len(models),
        models=models,
        each=lambda number: {
            "is_default": number == 0,
            "last_check_ok": HEALTH[number % 3],
            "last_checked_at": None if HEALTH[number % 3] is None else timezone.now(),
        },
    )


def timed(requests: list[tuple[object, str, dict]], headers: dict, repeat: int) -> list[tuple[float, float, int, int]]:
    """For each (client, url, params): median wall and CPU seconds of this process (the server's,
    with SQLite's work in it), queries and bytes. The requests take turns, in an order that
    alternates, so that a change in the machine's load lands on both sides of a ratio alike."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    times: list[list[float]] = [[] for _ in requests]
    cpu: list[list[float]] = [[] for _ in requests]
    seen = [(0, 0) for _ in requests]
    for round_number in range(repeat):
        order = list(range(len(requests)))
        if round_number % 2:
            order.reverse()
        for index in order:
            client, url, params = requests[index]
            with CaptureQueriesContext(connection) as captured:
                started, started_cpu = time.perf_counter(), time.process_time()
                response = client.get(url, params, headers=headers)
                times[index].append(time.perf_counter() - started)
                cpu[index].append(time.process_time() - started_cpu)
            assert response.status_code == 200, response.status_code
            assert b"store0" in response.content, "the page lists no datastore"
            seen[index] = (len(captured.captured_queries), len(response.content))
    return [
        (statistics.median(times[index]), statistics.median(cpu[index]), *seen[index]) for index in range(len(requests))
    ]


def run(repeat: int, big: int, database: str) -> float:
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.test import Client
    from django.urls import reverse

    from datastores.models import Membership, Role, Workspace
    from datastores.views import DATASTORE_PAGE_SIZE

    call_command("migrate", verbosity=0)
    user = get_user_model().objects.create_user(username="owner")
    workspaces = {}
    for count in (10, big):
        workspace = Workspace.objects.create(name=f"bench-{count}")
        Membership.objects.create(workspace=workspace, user=user, role=Role.OWNER)
        started = time.perf_counter()
        fill(workspace, count)
        print(f"filled {workspace.name}: {count:,} datastores in {time.perf_counter() - started:.1f} s")
        workspaces[count] = workspace
    from django.db import connection

    if connection.vendor == "postgresql":  # what autovacuum does soon after a bulk load: statistics, visibility map
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE datastores_datastore")
    # A session of its own for each workspace: the studio remembers the workspace last opened in
    # the session and writes it when that changes, so one session taking turns between the two
    # would write itself on every other request (3 more queries, on whichever side that fell).
    clients = {}
    for count in (10, big):
        clients[count] = Client()
        clients[count].force_login(user)
    filtered = {"name": "store0", "storage_type": "AzureBlob", "health": "passed"}
    print(f"\n{database}; medians of {repeat} requests; {DATASTORE_PAGE_SIZE} datastores a page")
    print(
        f"{'page':<36}{'10':>9}{f'{big:,}':>10}{'ratio':>7}{'CPU 10':>9}{f'CPU {big:,}':>11}{'ratio':>7}"
        f"{'queries':>9}{'KiB':>8}"
    )
    worst = 0.0
    for label, params in [
        ("first page", {}),
        ("half-way down (?page=N/2)", "middle"),
        ("filtered (name, type, health)", filtered),
    ]:
        for how, headers in (("page", {}), ("htmx table", HTMX)):
            requests = []
            for count in (10, big):
                url = reverse("datastore_list", args=[workspaces[count].name])
                pages = -(-count // DATASTORE_PAGE_SIZE)
                query = {"page": str(max(1, pages // 2))} if params == "middle" else params
                clients[count].get(url, query, headers=headers)  # warm
                requests.append((clients[count], url, query))
            results = timed(requests, headers, repeat)
            (small, small_cpu, small_queries, small_size), (large, large_cpu, large_queries, large_size) = results
            ratio = large / small
            worst = max(worst, ratio)
            print(
                f"{label + ', ' + how:<36}{small * 1000:>6.1f} ms{large * 1000:>7.1f} ms{ratio:>7.2f}"
                f"{small_cpu * 1000:>6.1f} ms{large_cpu * 1000:>8.1f} ms{large_cpu / small_cpu:>7.2f}"
                f"{f'{small_queries}/{large_queries}':>9}{f'{small_size / 1024:.0f}/{large_size / 1024:.0f}':>8}"
                + ("" if small_queries == large_queries else "  queries differ")
            )
    print(
        f"\nworst ratio {worst:.2f} (target: at most {RATIO_TARGET:g}) -> {'ok' if worst <= RATIO_TARGET else 'MISS'}"
    )
    return worst


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datastores", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    server = os.environ.get("STUDIO_BENCH_POSTGRES_URL")
    if not server:
        work = Path(tempfile.mkdtemp(prefix="datastore-list-bench-"))
        try:
            setup_django(f"sqlite:///{work / 'studio.sqlite3'}")
            worst = run(args.repeat, args.datastores, "SQLite")
        finally:
            shutil.rmtree(work, ignore_errors=True)
        return 0 if worst <= RATIO_TARGET else 1
    import psycopg

    name = f"studio_bench_{secrets.token_hex(4)}"
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    try:
        setup_django(urlunsplit(urlsplit(server)._replace(path=f"/{name}")))
        worst = run(args.repeat, args.datastores, "PostgreSQL")
    finally:
        from django.db import connections

        connections.close_all()
        with psycopg.connect(server, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    return 0 if worst <= RATIO_TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
