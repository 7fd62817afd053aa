"""Bench: a workspace's Activity tab with 1,000,000 audit entries against one with 100.

It migrates a throwaway PostgreSQL database as the studio's app database, makes two
workspaces, fills one with 100 entries and the other with --rows entries (INSERT ...
SELECT generate_series, the way a busy studio's table would look), then requests the
Activity tab through Django's full request/response stack (django.test.Client, in
this process) for each workspace: the first page, a page half-way down (by cursor),
and the first page filtered by user, by datastore and by action. It prints the median
server time of each, the ratio big/small, and the number of SQL queries per page (the
same for both, and independent of the rows).

    bench/run-activity                 # 1,000,000 rows
    bench/run-activity --rows 200000

Or against a PostgreSQL you run (a role that may create databases):

    STUDIO_BENCH_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/activity.py
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def setup_django(database_url: str) -> None:
    from cryptography.fernet import Fernet

    os.environ.update(
        DJANGO_SETTINGS_MODULE="studio.settings",
        DEBUG="false",
        SECRET_KEY=secrets.token_urlsafe(64),
        DATASTORE_ENCRYPTION_KEYS=Fernet.generate_key().decode(),
        DATABASE_URL=database_url,
        ALLOWED_HOSTS="testserver",
        SECURE_SSL_REDIRECT="false",
        WORKSPACE_STORAGE_CONNECTION_STRING="DefaultEndpointsProtocol=https;AccountName=bench;AccountKey=a2V5;EndpointSuffix=core.windows.net",
    )
    import django

    django.setup()


def fill(workspace_id: int, user_id: int, username: str, rows: int) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO datastores_auditentry
                (at, actor_id, actor_name, workspace_id, workspace_name, datastore_name, action, target, outcome,
                 detail, client_address, request_id)
            SELECT now() - make_interval(secs => %s - n), CASE WHEN n %% 10 = 0 THEN %s END,
                   CASE WHEN n %% 10 = 0 THEN %s ELSE 'someone' END, %s, 'ws',
                   'store' || (n %% 20), CASE WHEN n %% 7 = 0 THEN 'files.downloaded' ELSE 'files.browsed' END,
                   'folder/' || n, 'ok', '', '127.0.0.1', md5(n::text)
            FROM generate_series(1, %s) AS n
            """,
            [rows, user_id, username, workspace_id, rows],
        )
        cursor.execute("ANALYZE datastores_auditentry")


def timed(client, url: str, params: dict, repeat: int) -> tuple[float, int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    times = []
    queries = 0
    for _ in range(repeat):
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            response = client.get(url, params)
            times.append(time.perf_counter() - started)
        assert response.status_code == 200, response.status_code
        queries = len(captured.captured_queries)
    return statistics.median(times), queries


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    server = os.environ.get("STUDIO_BENCH_POSTGRES_URL")
    if not server:
        sys.exit("Set STUDIO_BENCH_POSTGRES_URL (bench/run-activity does it for you).")
    import psycopg

    name = f"studio_bench_{secrets.token_hex(4)}"
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    parts = urlsplit(server)
    try:
        setup_django(urlunsplit(parts._replace(path=f"/{name}")))
        from django.contrib.auth import get_user_model
        from django.core.management import call_command
        from django.test import Client
        from django.urls import reverse

        from datastores.models import Membership, Role, Workspace

        call_command("migrate", verbosity=0)
        user = get_user_model().objects.create_user(username="owner")
        workspaces = {}
        for label, rows in (("small", 100), ("big", args.rows)):
            workspace = Workspace.objects.create(name=f"bench-{label}")
            Membership.objects.create(workspace=workspace, user=user, role=Role.OWNER)
            started = time.perf_counter()
            fill(workspace.pk, user.pk, user.username, rows)
            print(f"filled {label}: {rows:,} entries in {time.perf_counter() - started:.1f} s")
            workspaces[label] = workspace
        client = Client()
        client.force_login(user)
        print(f"\n{'page':<24}{'100 entries':>14}{f'{args.rows:,} entries':>20}{'ratio':>8}{'queries':>10}")
        worst = 0.0
        for page, params in [
            ("first page", {}),
            ("half-way down (cursor)", "middle"),
            ("filtered by user", {"actor": "owner"}),
            ("filtered by datastore", {"datastore": "store3"}),
            ("filtered by action", {"action": "files.downloaded"}),
        ]:
            results = []
            for label in ("small", "big"):
                workspace = workspaces[label]
                query = params
                if params == "middle":
                    from datastores.models import AuditEntry

                    ids = AuditEntry.objects.filter(workspace=workspace).order_by("id").values_list("id", flat=True)
                    query = {"before": ids[ids.count() // 2]}
                url = reverse("workspace_activity", args=[workspace.name])
                client.get(url, query)  # warm
                results.append(timed(client, url, query, args.repeat))
            (small, small_queries), (big, big_queries) = results
            ratio = big / small
            worst = max(worst, ratio)
            print(
                f"{page:<24}{small * 1000:>11.1f} ms{big * 1000:>17.1f} ms{ratio:>8.2f}"
                f"{f'{small_queries}/{big_queries}':>10}"
            )
        print(f"\nworst ratio {worst:.2f} (target: at most 2) -> {'ok' if worst <= 2 else 'MISS'}")
    finally:
        from django.db import connections

        connections.close_all()
        with psycopg.connect(server, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


if __name__ == "__main__":
    main()
