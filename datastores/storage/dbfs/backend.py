"""Databricks File System: no authentication, for local compute (as in Azure ML).

A workspace URL and a personal access token are optional; with both, the
studio browses and transfers through the DBFS REST API 2.0 with `requests`
(list, get-status, read; create, add-block, close, move for uploads). Without
them there is nothing to check, and the browse pages say what is missing.

DBFS `list` returns a whole folder in one answer, so the studio pages it
itself: folders first, then files, by name, and the continuation is the last
entry shown (not an offset, so an entry added meanwhile neither repeats nor
hides one).

Uploads go to a staging name beside the target and `move` makes them visible
(see the Data Lake Gen2 backend). The DBFS docs do not say when a file written through a handle
(create, add-block, close) becomes visible; on a mount over ADLS Gen2 the
Hadoop driver creates it when the stream opens, so an upload that fails
midway could leave a partial file under the real name. `move` refuses an
existing destination, which decides SKIPPED; DBFS has no overwriting move, so
with overwrite on an existing file is moved aside first and put back if the
swap fails.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any, Literal

from .. import endpoints, fields, network, paths
from ..auth import AuthType
from ..base import (
    AuthMethod,
    Capabilities,
    Connection,
    Download,
    Entry,
    FileProperties,
    FolderPage,
    StorageBackend,
    UploadOutcome,
)
from ..chunks import blocks_of
from ..endpoints import parse_url
from ..errors import (
    AuthenticationFailed,
    Conflict,
    InvalidInput,
    NotFound,
    PermissionMissing,
    StorageError,
    Unreachable,
)
from ..fields import HttpsUrlField, SecretField
from ..listing import folders_first, refuse_root
from ..paths import guess_content_type
from ..staging import is_staging_name, put_in_place, removed_on_failure, staging_path
from .api import DbfsApi, DbfsApiError

BLOCK = 1024 * 1024  # the most DBFS accepts per read or add-block


def absolute(path: str) -> str:
    return "/" + path


class DbfsBackend(StorageBackend):
    storage_type = "DBFS"
    label = "Databricks File System"
    capabilities = Capabilities(
        browse=True,
        upload=True,
        delete=True,
        folders=True,
        delete_folders=True,
        move=True,
        properties=True,
        read_range=True,
        deferred_validation=True,
    )
    upload_block_size = BLOCK
    connection_fields = {
        "workspace_url": HttpsUrlField(
            label="Workspace URL",
            required=False,
            help_text="Optional: https://adb-….azuredatabricks.net, to browse and transfer from the studio.",
            suffixes=endpoints.DATABRICKS,
            example="https://adb-1234567890123456.7.azuredatabricks.net",
        ),
    }
    auth_methods = (
        AuthMethod(
            AuthType.NONE,
            {"access_token": SecretField(label="Personal access token", required=False)},
        ),
    )
    options = {
        "validate_now": fields.validate_now_field(
            "With a workspace URL and token: check them against Databricks now, not on first use."
        )
    }
    reach_fields = ("workspace_url",)

    def location(self, settings: Mapping[str, Any]) -> str:
        return str(settings.get("workspace_url") or "local compute")

    def page_notice(self, settings: Mapping[str, Any]) -> str:
        if not settings.get("workspace_url"):
            return (
                "This datastore is registered for local compute only. To browse, upload and download from the "
                "studio, add the workspace URL and a personal access token under Update authentication."
            )
        return self.notice

    # --- calls to the service ------------------------------------------------------

    def api(self, connection: Connection) -> DbfsApi:
        url, token = connection.get("workspace_url"), connection.get("access_token")
        if not url:
            raise InvalidInput(
                "This DBFS datastore has no workspace URL. Add the workspace URL (https://adb-….azuredatabricks.net) "
                "and a personal access token under Update authentication to browse and transfer files.",
                field="workspace_url",
            )
        if not token:
            raise InvalidInput(
                "This DBFS datastore has no personal access token. Generate one in the workspace (Settings > "
                "Developer > Access tokens) and add it under Update authentication.",
                field="access_token",
            )
        return DbfsApi(url, token)

    def explain(
        self, error: DbfsApiError, connection: Connection, path: str = "", missing: str = "file or folder"
    ) -> StorageError:
        address = parse_url(connection["workspace_url"])
        host = address.netloc
        if error.kind == "transport":
            return network.transport_failure(
                error,
                address.host,
                address.port or 443,
                field="workspace_url",
                hint="Check the workspace URL, that the workspace is running and that it is reachable from the studio.",
            )
        status, code = error.status, error.error_code
        if status == 401:
            return AuthenticationFailed(
                "The workspace did not accept the credentials sent: check the personal access token.",
                field="access_token",
            )
        if status == 403 and code == "PERMISSION_DENIED":
            return PermissionMissing(
                f"The personal access token has no permission for {absolute(path)!r}.", field="access_token"
            )
        if status == 403:
            return AuthenticationFailed(
                "The workspace refused the personal access token: it is wrong, expired or revoked. Generate a new "
                "one in the workspace (Settings > Developer > Access tokens).",
                field="access_token",
            )
        if status is not None and 300 <= status < 400:
            return Unreachable(
                f"{host} redirects elsewhere: use the workspace's own URL (https://adb-….azuredatabricks.net).",
                field="workspace_url",
            )
        if code == "RESOURCE_DOES_NOT_EXIST":
            return NotFound(f"There is no {missing} {path!r} in this datastore.")
        if code == "RESOURCE_ALREADY_EXISTS":
            return Conflict(f"A file is already at {absolute(path)!r}, where a folder would go.")
        if status == 404:
            return Unreachable(
                f"{host} has no DBFS API: check that the workspace URL is the workspace's own address.",
                field="workspace_url",
            )
        if status == 429:
            return StorageError("Databricks is limiting the request rate (429). Try again in a minute.")
        return StorageError(f"The workspace answered {status} {code}".rstrip() + ".")

    def calls(self, connection: Connection, path: str = "", missing: str = "file or folder") -> _Explained:
        """The API of this datastore, with its errors explained."""
        return _Explained(self, connection, path, missing)

    def check_connection(self, connection: Connection) -> None:
        url, token = connection.get("workspace_url"), connection.get("access_token")
        if not url and not token:
            return  # local compute only: nothing to check
        if not url:
            raise InvalidInput(
                "A personal access token is only used with a workspace URL: add the URL, or clear the token.",
                field="workspace_url",
            )
        if not token:
            raise InvalidInput(
                "To reach DBFS from the studio, add a personal access token for this workspace.",
                field="access_token",
            )
        with self.calls(connection) as api:
            api.get("get-status", path="/")

    # --- browsing and transfer ---------------------------------------------------------

    @staticmethod
    def entry(info: Mapping[str, Any]) -> Entry:
        is_folder = bool(info.get("is_dir"))
        modified = info.get("modification_time")
        path = str(info["path"]).removeprefix("dbfs:").strip("/")
        return Entry(
            name=paths.name_of(path),
            path=path,
            is_folder=is_folder,
            size=None if is_folder else int(info.get("file_size") or 0),
            content_type="" if is_folder else guess_content_type(path),
            last_modified=datetime.fromtimestamp(modified / 1000, UTC) if modified else None,
        )

    def folder_entries(self, api: DbfsApi, folder: str) -> list[Entry]:
        files = api.get("list", path=absolute(folder)).get("files") or []
        entries = [self.entry(info) for info in files]
        if len(entries) == 1 and not entries[0].is_folder and entries[0].path == folder and folder:
            raise InvalidInput(f"{folder!r} is a file, not a folder.")
        return [entry for entry in entries if not is_staging_name(entry.name)]

    def list_folder(
        self,
        connection: Connection,
        folder: str,
        *,
        name_prefix: str = "",
        continuation: str | None = None,
        page_size: int = 200,
    ) -> FolderPage:
        with self.calls(connection, folder, "folder") as api:
            entries = folders_first([e for e in self.folder_entries(api, folder) if e.name.startswith(name_prefix)])
        if continuation:
            kind, _, name = continuation.partition(":")
            after = (kind == "f", name)
            entries = [e for e in entries if (not e.is_folder, e.name) > after]
        page = entries[:page_size]
        more = len(entries) > page_size
        return FolderPage(page, f"{'f' if not page[-1].is_folder else 'd'}:{page[-1].name}" if more else None)

    def walk_files(self, connection: Connection, folder: str) -> Iterator[Entry]:
        def walk(api: DbfsApi, directory: str) -> Iterator[Entry]:
            for entry in sorted(self.folder_entries(api, directory), key=lambda e: e.name):
                if entry.is_folder:
                    yield from walk(api, entry.path)
                else:
                    yield entry

        with self.calls(connection, folder) as api:
            yield from walk(api, folder)

    def download(self, connection: Connection, path: str) -> Download:
        with self.calls(connection, path, "file") as api:
            info = api.get("get-status", path=absolute(path))
        if info.get("is_dir"):
            raise InvalidInput(f"{path!r} is a folder: download it as a folder.")
        size = int(info.get("file_size") or 0)

        def chunks() -> Iterator[bytes]:
            offset = 0
            with self.calls(connection, path) as api:
                while offset < size:
                    block = api.get("read", path=absolute(path), offset=offset, length=BLOCK)
                    data = base64.b64decode(block.get("data") or "")
                    if not data:
                        raise Unreachable(f"The workspace sent less of {path!r} than its size: download it again.")
                    offset += len(data)
                    yield data

        return Download(name=paths.name_of(path), size=size, content_type=guess_content_type(path), chunks=chunks())

    def upload(
        self,
        connection: Connection,
        path: str,
        chunks: Iterable[bytes],
        *,
        overwrite: bool,
        content_type: str = "",
        size: int | None = None,
    ) -> UploadOutcome:
        refuse_root(path, "replaced by a file")
        with self.calls(connection, path) as api:
            existing = self.status(api, path)
            if existing is not None and existing.get("is_dir"):
                raise Conflict(f"A folder named {paths.name_of(path)!r} is already there: choose another name.")
            if existing is not None and not overwrite:
                return UploadOutcome.SKIPPED  # spares the transfer; the move below decides
            if paths.parent(path):
                api.post("mkdirs", path=absolute(paths.parent(path)))

            staged = staging_path(path)
            with removed_on_failure(lambda: api.post("delete", path=absolute(staged), recursive=False)):
                handle = api.post("create", path=absolute(staged), overwrite=False)["handle"]
                for block in blocks_of(chunks, self.upload_block_size):
                    api.post("add-block", handle=handle, data=base64.b64encode(block).decode())
                api.post("close", handle=handle)
                return put_in_place(
                    staged,
                    path,
                    overwrite=overwrite,
                    rename=lambda source, destination: self.move_path(api, source, destination),
                    remove=lambda name: api.post("delete", path=absolute(name), recursive=False),
                    exists=lambda name: self.status(api, name) is not None,
                )

    def status(self, api: DbfsApi, path: str) -> dict[str, Any] | None:
        try:
            return api.get("get-status", path=absolute(path))
        except DbfsApiError as error:
            if error.error_code == "RESOURCE_DOES_NOT_EXIST":
                return None
            raise

    def move_path(self, api: DbfsApi, source: str, destination: str) -> bool:
        """False when the destination exists (or the source is gone)."""
        try:
            api.post("move", source_path=absolute(source), destination_path=absolute(destination))
        except DbfsApiError as error:
            if error.error_code in {"RESOURCE_ALREADY_EXISTS", "RESOURCE_DOES_NOT_EXIST"}:
                return False
            raise
        return True

    def create_folder(self, connection: Connection, path: str) -> None:
        refuse_root(path, "created")
        with self.calls(connection, path) as api:
            api.post("mkdirs", path=absolute(path))

    def delete(self, connection: Connection, path: str) -> None:
        """Delete a file, or a folder with everything in it. Nothing there is not an error."""
        refuse_root(path, "deleted")
        with self.calls(connection, path) as api:
            api.post("delete", path=absolute(path), recursive=True)

    def delete_folder(self, connection: Connection, path: str) -> None:
        self.delete(connection, path)  # recursive already

    def properties(self, connection: Connection, path: str) -> FileProperties:
        with self.calls(connection, path, "file") as api:
            info = api.get("get-status", path=absolute(path))
        if info.get("is_dir"):
            raise NotFound(f"There is no file {path!r} in this datastore.")
        entry = self.entry(info)
        return FileProperties(
            name=entry.name,
            path=path,
            size=entry.size,
            content_type=entry.content_type,
            last_modified=entry.last_modified,
            url=f"dbfs:{absolute(path)}",
        )

    def read_range(self, connection: Connection, path: str, offset: int, length: int) -> bytes:
        pieces, wanted = [], length
        with self.calls(connection, path, "file") as api:
            while wanted > 0:
                block = api.get("read", path=absolute(path), offset=offset, length=min(BLOCK, wanted))
                data = base64.b64decode(block.get("data") or "")
                if not data:
                    break
                pieces.append(data)
                offset, wanted = offset + len(data), wanted - len(data)
        return b"".join(pieces)

    def move(self, connection: Connection, source: str, destination: str, *, is_folder: bool) -> None:
        """DBFS move, which refuses an existing destination."""
        refuse_root(source, "moved")
        with self.calls(connection, source) as api:
            if self.status(api, destination) is not None:
                raise Conflict(f"{destination!r} is already there: choose another name.")
            if not self.move_path(api, source, destination):
                raise Conflict(f"{destination!r} is already there, or {source!r} is gone.")


class _Explained:
    """`with backend.calls(connection, path) as api:` opens the API and turns its errors into StorageErrors."""

    def __init__(self, backend: DbfsBackend, connection: Connection, path: str, missing: str):
        self.backend, self.connection, self.path, self.missing = backend, connection, path, missing
        self.api: DbfsApi | None = None

    def __enter__(self) -> DbfsApi:
        self.api = self.backend.api(self.connection)
        return self.api

    def __exit__(
        self, exc_type: type[BaseException] | None, error: BaseException | None, traceback: Any
    ) -> Literal[False]:
        if self.api is not None:
            self.api.close()
        if isinstance(error, DbfsApiError):
            raise self.backend.explain(error, self.connection, self.path, self.missing) from None
        return False


BACKEND = DbfsBackend()
