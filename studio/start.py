"""The start command of the production image (its CMD), also run by tests/test_production_start.py.

    python -m studio.start

1. Applies the migrations that are not applied yet, if any. On PostgreSQL it holds an advisory
   lock meanwhile, so containers starting together migrate one after the other and the second
   finds nothing left to do.
2. Collects the static files when the collected copy is missing or older than its source (the
   image collects them at build time, so there it does nothing).
3. Replaces itself with gunicorn (gunicorn.conf.py), which then gets the container's signals.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import django

ROOT = Path(__file__).resolve().parent.parent
GUNICORN_CONFIG = ROOT / "gunicorn.conf.py"
# Any fixed 64-bit number, the same in every container: pg_advisory_lock's key for migrating.
MIGRATION_LOCK_KEY = 0x5354_5544_494F_4D47  # "STUDIOMG"


def say(text: str) -> None:
    print(f"[start] {text}", file=sys.stderr, flush=True)


@contextmanager
def migration_lock() -> Iterator[None]:
    from django.db import connection

    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s)", [MIGRATION_LOCK_KEY])
        try:
            yield
        finally:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [MIGRATION_LOCK_KEY])


def unapplied_migrations() -> list[str]:
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    return [f"{migration.app_label}.{migration.name}" for migration, _backwards in plan]


def migrate() -> None:
    from django.core.management import call_command

    with migration_lock():
        pending = unapplied_migrations()
        if not pending:
            say("The database schema is up to date: no migrations to apply.")
            return
        say(f"Applying {len(pending)} migration(s).")
        call_command("migrate", interactive=False, verbosity=1)


def static_files_outdated() -> bool:
    """True when a static file the finders know is missing from STATIC_ROOT or newer than its copy."""
    from django.conf import settings
    from django.contrib.staticfiles.finders import get_finders

    root = Path(settings.STATIC_ROOT)
    for finder in get_finders():
        for path, storage in finder.list(["CVS", ".*", "*~"]):
            collected = root / path
            if not collected.exists() or collected.stat().st_mtime < storage.get_modified_time(path).timestamp():
                return True
    return False


def collect_static() -> None:
    from django.core.management import call_command

    if static_files_outdated():
        say("Collecting static files.")
        call_command("collectstatic", interactive=False, verbosity=0)


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "studio.settings")
    django.setup()
    migrate()
    collect_static()
    from django.db import connections

    connections.close_all()  # gunicorn's workers open their own
    say("Starting gunicorn.")
    os.execv(sys.executable, [sys.executable, "-m", "gunicorn", "--config", str(GUNICORN_CONFIG)])


if __name__ == "__main__":
    main()
