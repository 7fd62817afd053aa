"""Part of bench/api.py (run it through bench/run-api): the server time of listing datastores page
by page through GET /api/v1/workspaces/<ws>/datastores, for a workspace of 10 and one of 10,000,
with the number of SQL queries each page takes (it must not grow with the workspace).

It runs in-process against the database given in DATABASE_URL (already migrated), through
Django's test client, so the time is the server's alone (no network, no client parsing).
Prints one JSON object on its last line."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from statistics import median

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "studio.settings")

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from datastores.access import Actor  # noqa: E402
from datastores.services import token_create, workspace_create  # noqa: E402
from tests.fill import fill_datastores  # noqa: E402


def list_all(client: Client, token: str, workspace: str, limit: int) -> dict:
    pages, queries, cursor, seen = [], [], None, 0
    while True:
        query = {"limit": limit, **({"cursor": cursor} if cursor else {})}
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            response = client.get(
                f"/api/v1/workspaces/{workspace}/datastores", query, headers={"Authorization": f"Bearer {token}"}
            )
            pages.append(time.perf_counter() - started)
        queries.append(len(captured.captured_queries))
        body = response.json()
        assert response.status_code == 200, body
        seen += len(body["items"])
        cursor = body["next_cursor"]
        if not cursor:
            break
    return {
        "datastores": seen,
        "pages": len(pages),
        "limit": limit,
        "total_seconds": sum(pages),
        "median_page_ms": median(pages) * 1000,
        "max_page_ms": max(pages) * 1000,
        "queries_per_page": sorted(set(queries)),
    }


def main() -> None:
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    user = get_user_model().objects.create_user("lister")
    _token, raw = token_create(actor=Actor(user=user), name="bench", expires_in_days=1)
    results = {}
    for count in (10, 10_000):
        workspace = workspace_create(actor=Actor(user=user), name=f"list-{count}")
        filled = time.perf_counter()
        fill_datastores(workspace, count - workspace.datastores.count())  # workspace_create made two
        filled = time.perf_counter() - filled
        client = Client()
        client.get(
            f"/api/v1/workspaces/{workspace.name}/datastores", headers={"Authorization": f"Bearer {raw}"}
        )  # warm up
        results[str(count)] = {
            "fill_seconds": filled,
            **{str(limit): list_all(client, raw, workspace.name, limit) for limit in (50, 200)},
        }
    print(json.dumps(results))


if __name__ == "__main__":
    main()
