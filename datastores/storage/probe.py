"""What "Test connection" reports: what the stored credential can do, one ability at a time.

Files: list, read, and (only when the person asks) write and delete, on a temporary
object that is removed again. Tables: connect, list tables, read. Built on the calls a
backend declares through its capabilities, so every storage type reports the same way.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING

from .errors import StorageError

if TYPE_CHECKING:
    from .base import Connection, StorageBackend

PROBE_PREFIX = ".studio-probe-"  # the temporary object a write check leaves for a moment

Ability = tuple[str, bool | None, str]  # (ability, can, detail)


def _try(ability: str, call: Callable[[], object]) -> Ability:
    try:
        detail = call()
    except StorageError as failure:
        return (ability, False, failure.message)
    return (ability, True, detail if isinstance(detail, str) else "")


def probe(backend: StorageBackend, connection: Connection, *, write: bool) -> list[Ability]:
    capabilities = backend.capabilities
    results: list[Ability] = []
    if capabilities.tables:
        results.append(_try("Connect", lambda: backend.check_connection(connection)))
        if results[-1][1] is False:
            return [*results, ("List tables", None, "Not tried: the connection failed."), ("Read", None, "Not tried.")]
        listing: list = []

        def list_tables() -> str:
            found = backend.list_tables(connection)
            listing.extend(table for schema in found.schemas for table in schema.tables)
            return f"{len(listing)} table(s) or view(s) seen."

        results.append(_try("List tables", list_tables))
        if listing:
            first = listing[0]
            results.append(
                _try(
                    "Read",
                    lambda: (
                        backend.preview_rows(connection, first.schema, first.name, page=1, page_size=1)
                        and f"Read a row of {first.schema}.{first.name}."
                    ),
                )
            )
        else:
            results.append(("Read", None, "Not tried: no table to read."))
        return results
    if not capabilities.browse:
        results.append(_try("Connect", lambda: backend.check_connection(connection)))
        return results

    first_file: list = []

    def list_root() -> str:
        page = backend.list_folder(connection, "", page_size=50)
        first_file.extend(entry for entry in page.entries if not entry.is_folder)
        return f"{len(page.entries)} entr{'y' if len(page.entries) == 1 else 'ies'} at the root."

    results.append(_try("List", list_root))

    def read_one() -> str:
        download = backend.download(connection, first_file[0].path)
        next(iter(download.chunks), b"")  # the first bytes prove it; the rest is not fetched
        return f"Read {first_file[0].path!r}."

    if first_file:
        results.append(_try("Read", read_one))
    else:
        results.append(("Read", None, "Not tried: no file at the root to read."))
    if not (write and capabilities.upload):
        why = (
            "Not tried: tick “Also check write and delete”."
            if capabilities.upload
            else "This storage type has no uploads."
        )
        return [*results, ("Write", None, why), ("Delete", None, why if capabilities.delete else "No deletes here.")]
    name = f"{PROBE_PREFIX}{uuid.uuid4().hex}"
    data = b"Datastore Studio checked that it may write here; this file is removed at once.\n"
    results.append(
        _try(
            "Write",
            lambda: (
                backend.upload(connection, name, iter([data]), overwrite=False, size=len(data))
                and f"Wrote a temporary file {name!r}."
            ),
        )
    )
    if results[-1][1]:

        def delete_again() -> str:
            backend.delete(connection, name)
            return f"Removed {name!r} again."

        results.append(_try("Delete", delete_again))
    else:
        results.append(("Delete", None, "Not tried: nothing was written."))
    return results
