"""Reads: workspaces, datastores, and what the storage behind a datastore holds.

The reads of a datastore's data are audited (who browsed, downloaded, previewed or
queried what). Who may read is decided before, in access.py.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.core.paginator import Page, Paginator
from django.db import models
from django.db.models import Q, QuerySet
from django.http import HttpRequest

from .access import Actor, visible_workspaces
from .audit import AuditAction, Note, recorded
from .deadline import within_deadline
from .models import Datastore, Workspace
from .previews import Preview, preview
from .storage import (
    CorsState,
    Download,
    Entry,
    FileProperties,
    FolderPage,
    InvalidInput,
    NotFound,
    StorageError,
)
from .storage.paths import clean_path
from .storage.tables import ColumnInfo, CsvStream, QueryResult, RowsPage, TableListing

SESSION_WORKSPACE_KEY = "workspace_id"
QUERY_TEXT_AUDITED = 1000  # characters of a query's text kept in its audit entry


def workspace_list(actor: Actor) -> QuerySet[Workspace]:
    """The workspaces the actor may open (all of them for an administrator)."""
    return visible_workspaces(actor).order_by("name")


def workspace_current(request: HttpRequest, actor: Actor) -> Workspace | None:
    """The workspace chosen in this session, or the actor's first one."""
    visible = workspace_list(actor)
    workspace_id = request.session.get(SESSION_WORKSPACE_KEY)
    workspace = visible.filter(pk=workspace_id).first() if workspace_id else None
    return workspace or visible.first()


class Health(models.TextChoices):
    """The outcome of a datastore's last check, as the list filters it."""

    PASSED = "passed", "Passed"
    FAILED = "failed", "Failed"
    UNCHECKED = "unchecked", "Not checked yet"


_HEALTH_QUERIES = {
    Health.PASSED: Q(last_check_ok=True),
    Health.FAILED: Q(last_check_ok=False),
    Health.UNCHECKED: Q(last_check_ok__isnull=True),
}


def datastore_list(
    workspace: Workspace, *, search: str = "", storage_type: str = "", health: str = ""
) -> QuerySet[Datastore]:
    """The workspace's datastores by name, filtered in the database (a name that contains
    `search`, one storage type, one health), so a page of them costs the same at any size."""
    datastores = workspace.datastores.all()
    if search:
        datastores = datastores.filter(name__icontains=search)
    if storage_type:
        datastores = datastores.filter(storage_type=storage_type)
    if health:
        datastores = datastores.filter(_HEALTH_QUERIES[Health(health)])
    return datastores.order_by("name")


def datastore_page(datastores: QuerySet[Datastore], number: str | None, size: int) -> Page:
    """One page of `datastores`: counted and offset through the list's narrow index (the ids
    alone), then only that page's rows read, so a page far down costs about what the first does."""
    page = Paginator(datastores.values_list("pk", flat=True), size).get_page(number)
    ids = list(page.object_list)
    rows = {datastore.pk: datastore for datastore in Datastore.objects.filter(pk__in=ids).order_by()}
    return Page([rows[pk] for pk in ids if pk in rows], page.number, page.paginator)


# --- files ---------------------------------------------------------------------------------


def _audited(
    actor: Actor, action: AuditAction, datastore: Datastore, target: str, detail: str = ""
) -> AbstractContextManager[Note]:
    return recorded(
        actor, action, workspace=datastore.workspace, datastore=datastore.name, target=target, detail=detail
    )


def folder_page(
    datastore: Datastore,
    folder: str,
    *,
    actor: Actor | None = None,
    name_prefix: str = "",
    continuation: str | None = None,
    page_size: int = 100,
) -> FolderPage:
    """One page of a folder (subfolders first); `continuation` comes from the previous page."""
    folder = clean_path(folder)
    detail = f"name prefix {name_prefix!r}" if name_prefix else ""
    with _audited(actor or Actor(), AuditAction.FOLDER_BROWSED, datastore, folder or "/", detail):
        connection = datastore.connection()
        return within_deadline(
            lambda: datastore.backend.list_folder(
                connection, folder, name_prefix=name_prefix, continuation=continuation, page_size=page_size
            ),
            "listing the folder",
        )


def folder_files(datastore: Datastore, folder: str) -> Iterator[Entry]:
    """Every file below a folder, lazily (the caller audits what it does with them)."""
    return datastore.backend.walk_files(datastore.connection(), clean_path(folder))


def file_download(datastore: Datastore, path: str, *, actor: Actor | None = None) -> Download:
    """A file named by a path a user typed (checked here)."""
    clean = clean_path(path)
    if not clean:
        raise InvalidInput("Name the file.")
    with _audited(actor or Actor(), AuditAction.FILE_DOWNLOADED, datastore, clean):
        return datastore.backend.download(datastore.connection(), clean)


def file_download_range(
    datastore: Datastore, path: str, start: int, end: int | None, *, actor: Actor | None = None
) -> Download:
    """Bytes start..end (inclusive) of a file named by a path a user typed."""
    clean = clean_path(path)
    if not clean:
        raise InvalidInput("Name the file.")
    with _audited(
        actor or Actor(), AuditAction.FILE_DOWNLOADED, datastore, clean, f"bytes {start}-{'' if end is None else end}"
    ):
        return datastore.backend.download_range(datastore.connection(), clean, start, end)


STAT_PAGES = 20  # listing pages looked through for one name before saying it is not there


def file_stat(datastore: Datastore, path: str, *, actor: Actor | None = None) -> Entry:
    """A file's or folder's entry, found by listing its folder filtered by its name (every
    storage type lists; not all of them have a cheap "properties" call)."""
    clean = clean_path(path)
    if not clean:
        raise InvalidInput("Name the file.")
    folder, _, name = clean.rpartition("/")
    backend, connection = datastore.backend, datastore.connection()
    with _audited(actor or Actor(), AuditAction.FOLDER_BROWSED, datastore, clean, "stat"):
        continuation = None
        for _page in range(STAT_PAGES):
            page = backend.list_folder(connection, folder, name_prefix=name, continuation=continuation, page_size=200)
            for entry in page.entries:
                if entry.name == name:
                    return entry
            continuation = page.continuation
            if not continuation:
                break
        raise NotFound(f"There is no file or folder {clean!r} in this datastore.")


def entry_download(datastore: Datastore, entry: Entry, *, actor: Actor | None = None, audit: bool = True) -> Download:
    """A file from the storage's own listing, by its stored name as it is (which may hold
    what a typed path may not, such as a leading "/"). A zip audits itself once, not per file."""
    if not audit:
        return datastore.backend.download(datastore.connection(), entry.path)
    with _audited(actor or Actor(), AuditAction.FILE_DOWNLOADED, datastore, entry.path):
        return datastore.backend.download(datastore.connection(), entry.path)


@dataclass(frozen=True)
class FolderSize:
    files: int
    bytes: int
    more: bool  # counting stopped at a limit: there is more than that


def folder_size(
    datastore: Datastore, folder: str, *, files: int = 10_000, bytes_limit: int | None = None
) -> FolderSize:
    """How many files (and bytes) a folder holds, counted until more than `files` files or
    `bytes_limit` bytes."""
    connection, folder = datastore.connection(), clean_path(folder)

    def count() -> FolderSize:
        found = size = 0
        for entry in datastore.backend.walk_files(connection, folder):
            found, size = found + 1, size + (entry.size or 0)
            if found > files or (bytes_limit is not None and size > bytes_limit):
                return FolderSize(min(found, files), size, True)
        return FolderSize(found, size, False)

    return within_deadline(count, "counting the folder's files")


def folder_file_count(datastore: Datastore, folder: str, *, limit: int = 10_000) -> tuple[int, bool]:
    """How many files a folder holds, counted up to `limit`: (count, whether there are more)."""
    measured = folder_size(datastore, folder, files=limit)
    return measured.files, measured.more


def zip_in_background(datastore: Datastore, folder: str) -> bool:
    """Whether a folder's zip is big enough to be built by a job (more than JOB_ZIP_FILE_THRESHOLD
    files or JOB_ZIP_BYTES_THRESHOLD bytes) rather than streamed on the fly."""
    return folder_size(
        datastore, folder, files=settings.JOB_ZIP_FILE_THRESHOLD, bytes_limit=settings.JOB_ZIP_BYTES_THRESHOLD
    ).more


def file_preview(datastore: Datastore, path: str, *, actor: Actor) -> tuple[FileProperties, Preview]:
    """A file's properties and a bounded look inside it (see previews.py)."""
    clean = clean_path(path)
    if not clean:
        raise InvalidInput("Name the file.")
    backend = datastore.backend
    with _audited(actor, AuditAction.FILE_PREVIEWED, datastore, clean):
        connection = datastore.connection()

        def look() -> tuple[FileProperties, Preview]:
            properties = backend.properties(connection, clean)
            return properties, preview(backend, connection, properties)

        return within_deadline(look, "reading the file")


def chosen_files(paths: list[str], folder: str) -> list[str]:
    """The files ticked in `folder`, cleaned, each once (those outside it are left out)."""
    cleaned = [clean_path(path) for path in paths]
    if not cleaned or not all(cleaned):
        raise InvalidInput("Choose the files to download.")
    return list(dict.fromkeys(path for path in cleaned if not folder or path.startswith(folder + "/")))


def selection_zip_started(datastore: Datastore, paths: list[str], *, actor: Actor) -> None:
    """Record that several files (clean paths) are being downloaded as one zip."""
    with _audited(actor, AuditAction.SELECTION_ZIPPED, datastore, ", ".join(paths)[:1000], f"{len(paths)} file(s)"):
        pass


def folder_zip_started(datastore: Datastore, folder: str, *, actor: Actor) -> str:
    """Record that a folder is being downloaded as a zip; returns the clean folder."""
    folder = clean_path(folder)
    with _audited(actor, AuditAction.FOLDER_ZIPPED, datastore, folder or "/"):
        return folder


# --- browser transfers straight to storage ---------------------------------------------------

CORS_STATE_SECONDS = 60  # how long what the account's CORS rules say is remembered


@dataclass(frozen=True)
class DirectMode:
    """How a browser moves a datastore's files: straight to storage (`origin`), or through the
    studio, and why (`notice`, said once on the page)."""

    downloads: bool = False  # download links redirect to a SAS URL for the one file
    uploads: bool = False  # the browser asks for a SAS per file and sends its blocks itself
    origin: str = ""  # the storage service's origin, for the page's connect-src
    cors: CorsState | None = None
    notice: str = ""
    can_allow_cors: bool = False  # an owner of an account-key datastore may add the studio's rule
    downloads_only: bool = False  # uploads go through the studio whatever the CORS rules say

    @property
    def available(self) -> bool:
        """The studio can sign a SAS for one file of this datastore for a browser."""
        return bool(self.origin)


def direct_transfer_possible(datastore: Datastore) -> DirectMode:
    """What the settings and the stored credential allow, without a call to storage."""
    backend = datastore.backend
    if not (settings.DIRECT_TRANSFERS and backend.capabilities.browser_direct_transfers):
        return DirectMode()
    connection = datastore.connection()
    reason = backend.direct_unavailable(connection)
    if reason:
        return DirectMode(notice=reason)
    if backend.capabilities.direct_downloads_only:
        return DirectMode(
            downloads=True,
            origin=backend.direct_origin(connection),
            downloads_only=True,
            notice=f"Downloads go straight from {backend.label} to your browser; uploads go through the studio "
            f"({backend.label} has no block commit that would keep a cut-off upload from leaving part of a file).",
        )
    return DirectMode(downloads=True, origin=backend.direct_origin(connection))


def _cors_key(origin: str, storage_origin: str, datastore: Datastore) -> str:
    where = datastore.backend.location(datastore.connection_settings)  # path-style hosts serve several accounts
    return "direct-cors:" + hashlib.sha256(f"{origin} {storage_origin} {where}".encode()).hexdigest()


def direct_transfer_mode(datastore: Datastore, origin: str, *, may_manage: bool) -> DirectMode:
    """`direct_transfer_possible`, and whether uploads may go direct: the account's CORS rules
    must let the studio's `origin` in (read with the stored credential, remembered a minute)."""
    possible = direct_transfer_possible(datastore)
    if not possible.available or possible.downloads_only:
        return possible
    key = _cors_key(origin, possible.origin, datastore)
    cached = cache.get(key)
    if cached is None:
        connection = datastore.connection()
        try:
            state = within_deadline(
                lambda: datastore.backend.cors_allows(connection, origin), "reading the account's CORS rules"
            )
        except StorageError:  # the listing beside it says what fails; here the browser finds out
            state = CorsState.UNKNOWN
        else:
            cache.set(key, state.value, CORS_STATE_SECONDS)
    else:
        state = CorsState(cached)
    if state == CorsState.MISSING:
        return DirectMode(
            downloads=True,
            origin=possible.origin,
            cors=state,
            notice="Uploads go through the studio: the storage account's CORS rules do not allow this studio's "
            "address, so a browser may not send files to it directly.",
            can_allow_cors=may_manage and datastore.backend.cors_editable(datastore.connection()),
        )
    return DirectMode(downloads=True, uploads=True, origin=possible.origin, cors=state)


def direct_transfer_forget(datastore: Datastore, origin: str) -> None:
    possible = direct_transfer_possible(datastore)
    cache.delete(_cors_key(origin, possible.origin, datastore))


# --- tables --------------------------------------------------------------------------------


def tables_list(datastore: Datastore, *, actor: Actor) -> TableListing:
    with _audited(actor, AuditAction.TABLES_LISTED, datastore, ""):
        connection = datastore.connection()
        return within_deadline(lambda: datastore.backend.list_tables(connection), "listing the tables")


def table_preview(
    datastore: Datastore, schema: str, table: str, *, actor: Actor, page: int, page_size: int
) -> RowsPage:
    with _audited(actor, AuditAction.TABLE_PREVIEWED, datastore, f"{schema}.{table}", f"page {page}"):
        connection = datastore.connection()
        return within_deadline(
            lambda: datastore.backend.preview_rows(connection, schema, table, page=page, page_size=page_size),
            "reading the table",
        )


def table_columns(datastore: Datastore, schema: str, table: str, *, actor: Actor) -> list[ColumnInfo]:
    with _audited(actor, AuditAction.TABLE_PREVIEWED, datastore, f"{schema}.{table}", "columns"):
        return datastore.backend.table_columns(datastore.connection(), schema, table)


def table_csv(datastore: Datastore, schema: str, table: str, *, actor: Actor) -> CsvStream:
    with _audited(actor, AuditAction.CSV_DOWNLOADED, datastore, f"{schema}.{table}"):
        return datastore.backend.stream_table_csv(datastore.connection(), schema, table)


def query_run(datastore: Datastore, statement: str, *, actor: Actor, row_limit: int, timeout: int) -> QueryResult:
    with _audited(actor, AuditAction.QUERY_RUN, datastore, "", statement[:QUERY_TEXT_AUDITED]):
        return datastore.backend.run_readonly_query(
            datastore.connection(), statement, row_limit=row_limit, timeout=timeout
        )


def query_csv(datastore: Datastore, statement: str, *, actor: Actor, timeout: int) -> CsvStream:
    with _audited(actor, AuditAction.CSV_DOWNLOADED, datastore, "query", statement[:QUERY_TEXT_AUDITED]):
        return datastore.backend.stream_query_csv(datastore.connection(), statement, timeout=timeout)
