"""The studio's default cache: a table in the studio's own database, shared by every process.

django-ratelimit keeps its counts in the cache. Django's local-memory cache counts in each
process alone (each gunicorn worker, each machine), so a limit of 20 a minute would let
20 per worker through. Every studio process already shares the database, so its cache table is
the default (`CACHE_URL` may name memcached or redis instead).

Django's DatabaseCache increments by reading then writing, so two requests at once could count
as one. Here `incr` holds the row meanwhile (SELECT ... FOR UPDATE; SQLite's IMMEDIATE
transactions lock the whole file): every request is counted, in whichever process it lands.

`migrate` creates the table (`create_cache_table`, run after each migrate), so a deployment has
nothing more to run.
"""

from __future__ import annotations

import base64
import pickle
from typing import Any

from django.core.cache.backends import db
from django.core.management import call_command
from django.db import connections, router, transaction


class DatabaseCache(db.DatabaseCache):
    def incr(self, key: Any, delta: int = 1, version: int | None = None) -> Any:
        stored_key = self.make_and_validate_key(key, version=version)
        alias = router.db_for_write(self.cache_model_class)
        connection = connections[alias]
        quote = connection.ops.quote_name
        table = quote(self._table)  # type: ignore[attr-defined]  # BaseDatabaseCache's; django-stubs leave it out
        key_column, value_column = quote("cache_key"), quote("value")
        with transaction.atomic(using=alias), connection.cursor() as cursor:
            if connection.features.has_select_for_update:
                cursor.execute(f"SELECT 1 FROM {table} WHERE {key_column} = %s FOR UPDATE", [stored_key])
            value = self.get(key, self._missing_key, version=version)  # None once expired
            if value is self._missing_key:
                raise ValueError(f"Key '{key}' not found")
            value += delta
            encoded = base64.b64encode(pickle.dumps(value, self.pickle_protocol)).decode("latin1")
            # The value only: the expiry stays the one the count was added with.
            cursor.execute(f"UPDATE {table} SET {value_column} = %s WHERE {key_column} = %s", [encoded, stored_key])
        return value


def create_cache_table(using: str = "default", **_signal: Any) -> None:
    """post_migrate: the cache table of each database cache, if it is missing (createcachetable)."""
    call_command("createcachetable", database=using, verbosity=0)
