"""Bench: a 1,000,000-row PostgreSQL table downloaded as CSV, through the studio and directly.

It makes its own database on the server (studio_bench_<random>, dropped at the end), fills
a table with generate_series, registers it as a datastore in a throwaway SQLite app
database, then:

1. streams the table through the studio's HTTP endpoint (datastore_table_csv, through
   Django's full request/response stack with django.test.Client), in this process, and
   measures the process's peak RSS growth during that download (VmHWM, reset first
   through /proc/self/clear_refs);
2. streams it through psycopg directly with COPY ... TO STDOUT WITH CSV, the fastest path
   PostgreSQL has;

and prints rows/s for each, their ratio, and the RSS growth.

Run it with a throwaway PostgreSQL, started and stopped for you by scripts/lib.sh:

    bench/run-sql-csv

or against a PostgreSQL you already run (a URL of a role that may create databases):

    STUDIO_BENCH_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/sql_csv.py

Options: --rows N (default 1,000,000).
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
MiB = 1024 * 1024


def status_kib(field: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def reset_peak_rss() -> bool:
    """Linux resets VmHWM to the current RSS when "5" is written to clear_refs."""
    try:
        with open("/proc/self/clear_refs", "w") as clear_refs:
            clear_refs.write("5")
        return True
    except OSError:
        return False


def configure_django(workdir: Path) -> None:
    from cryptography.fernet import Fernet

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "studio.settings")
    os.environ["DATABASE_URL"] = f"sqlite:///{workdir / 'bench.sqlite3'}"
    os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(64))
    os.environ.setdefault("DATASTORE_ENCRYPTION_KEYS", Fernet.generate_key().decode())
    os.environ["DATASTORE_ALLOWED_HOSTS"] = "127.0.0.1,localhost"
    os.environ.setdefault("WORKSPACE_STORAGE_CONNECTION_STRING", "UseDevelopmentStorage=true")
    os.environ.update(DEBUG="false", SECURE_SSL_REDIRECT="false", SECURE_COOKIES="false", LOG_LEVEL="WARNING")
    os.environ["ALLOWED_HOSTS"] = "testserver"
    import django

    django.setup()


def make_table(admin_url: str, rows: int) -> tuple[str, int]:
    import psycopg
    from psycopg import sql

    name = f"studio_bench_{secrets.token_hex(4)}"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    with psycopg.connect(admin_url, dbname=name, autocommit=True) as db:
        db.execute(
            "CREATE TABLE million AS SELECT g AS id, md5(g::text) AS label, (g * 1.25)::numeric(12, 2) AS amount, "
            "timestamptz '2024-01-01 00:00Z' + g * interval '1 second' AS happened_at, g %% 3 = 0 AS flagged "
            "FROM generate_series(1, %s) g",
            [rows],
        )
        db.execute("ALTER TABLE million ADD PRIMARY KEY (id)")
        db.execute("ANALYZE million")
    return name, urlsplit(admin_url).port or 5432


def drop_database(admin_url: str, name: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def studio_download(admin_url: str, database: str, port: int) -> dict:
    """The table through the studio's CSV endpoint, with the peak RSS growth of this process."""
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.test import Client
    from django.urls import reverse

    from datastores import services
    from datastores.models import Workspace

    call_command("migrate", verbosity=0)
    user = get_user_model().objects.create_user(username="bench")
    workspace = Workspace.objects.create(name="bench")
    parts = urlsplit(admin_url)
    services.datastore_register(
        workspace=workspace,
        name="bench_pg",
        storage_type="AzurePostgreSql",
        auth_type="sql_authentication",
        values={
            "server_name": "bench",
            "database_name": database,
            "port": port,
            "endpoint": "127.0.0.1",
            "enforce_ssl": False,
            "user_id": parts.username or "postgres",
            "password": parts.password or "unused",
            "skip_validation": False,
        },
        created_by=user,
    )
    client = Client()
    client.force_login(user)
    url = reverse("datastore_table_csv", args=["bench", "bench_pg", "public", "million"])

    exact = reset_peak_rss()
    baseline = status_kib("VmRSS")
    started = time.perf_counter()
    response = client.get(url)
    assert response.status_code == 200 and response.streaming, response
    size = lines = 0
    for chunk in response.streaming_content:
        size += len(chunk)
        lines += chunk.count(b"\n")
    response.close()
    elapsed = time.perf_counter() - started
    peak = status_kib("VmHWM")
    return {
        "rows": lines - 1,
        "bytes": size,
        "seconds": elapsed,
        "baseline_kib": baseline,
        "peak_kib": peak,
        "exact_peak": exact,
    }


def copy_download(admin_url: str, database: str) -> dict:
    import psycopg

    started = time.perf_counter()
    size = lines = 0
    with psycopg.connect(admin_url, dbname=database) as db, db.cursor() as cursor:
        with cursor.copy("COPY (SELECT * FROM million) TO STDOUT WITH (FORMAT csv, HEADER)") as copy:
            for chunk in copy:
                size += len(chunk)
                lines += bytes(chunk).count(b"\n")
    return {"rows": lines - 1, "bytes": size, "seconds": time.perf_counter() - started}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    options = parser.parse_args()
    admin_url = os.environ.get("STUDIO_BENCH_POSTGRES_URL") or os.environ.get("STUDIO_TEST_POSTGRES_URL")
    if not admin_url:
        print("Set STUDIO_BENCH_POSTGRES_URL to a PostgreSQL URL, or run bench/run-sql-csv.", file=sys.stderr)
        return 2

    with tempfile.TemporaryDirectory(prefix="studio-bench-") as workdir:
        configure_django(Path(workdir))
        print(f"Filling a {options.rows:,}-row table with generate_series...", flush=True)
        started = time.perf_counter()
        database, port = make_table(admin_url, options.rows)
        print(f"  done in {time.perf_counter() - started:.1f} s", flush=True)
        try:
            studio = studio_download(admin_url, database, port)
            direct = copy_download(admin_url, database)
        finally:
            drop_database(admin_url, database)

    for result in (studio, direct):
        assert result["rows"] == options.rows, f"expected {options.rows:,} rows, got {result['rows']:,}"
    studio_rate = studio["rows"] / studio["seconds"]
    copy_rate = direct["rows"] / direct["seconds"]
    growth = (studio["peak_kib"] - studio["baseline_kib"]) / 1024
    print()
    print(f"rows per download:                    {options.rows:,}")
    print(
        f"studio CSV endpoint (Django, stream): {studio_rate:>12,.0f} rows/s  "
        f"{studio['seconds']:6.2f} s  {studio['bytes'] / MiB:7.1f} MiB"
    )
    print(
        f"psycopg COPY TO STDOUT WITH CSV:      {copy_rate:>12,.0f} rows/s  "
        f"{direct['seconds']:6.2f} s  {direct['bytes'] / MiB:7.1f} MiB"
    )
    print(f"ratio studio / COPY:                  {studio_rate / copy_rate:.2f}")
    print(
        f"peak RSS growth during the studio download: {growth:.1f} MiB "
        f"(RSS {studio['baseline_kib'] / 1024:.1f} MiB before, peak {studio['peak_kib'] / 1024:.1f} MiB"
        f"{'' if studio['exact_peak'] else '; VmHWM could not be reset, so the peak may predate the download'})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
