"""Folder uploads and downloads, with the semantics of Azure ML's ``upload`` and ``download`` and of
the studio's own commands: files that exist are skipped (and named) unless overwrite, nothing is
written outside the target folder, no partial file is left on either side, and a count is returned.

For Blob Storage, Azure Files and ADLS Gen2 the bytes go straight between this machine and the
storage service, with a short-lived SAS the studio issues (``POST .../credentials``), refreshed
before it expires, and the Azure SDK's parallel transfers; the studio is not in the data path. For
the other storage types they stream through the studio's file routes.
"""

from __future__ import annotations

import mimetypes
import os
import secrets
import threading
import time
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import IO, TYPE_CHECKING, Any, BinaryIO
from urllib.parse import quote

from azure.core.credentials import AzureSasCredential
from azure.core.exceptions import (
    AzureError,
    ClientAuthenticationError,
    HttpResponseError,
    ResourceExistsError,
    ResourceModifiedError,
    ResourceNotFoundError,
    ServiceRequestError,
    ServiceResponseError,
)

from .exceptions import (
    Conflict,
    PathNotFound,
    PermissionDenied,
    StorageServiceError,
    StudioError,
    TransferStopped,
    ValidationFailed,
)

if TYPE_CHECKING:
    from .datastore import Datastore

__all__ = ["FailedFile", "TransferResult", "direct_storage_types"]

MIB = 1024 * 1024
BLOCK_SIZE = 16 * MIB  # blocks staged and ranges read for a large file: what measured best here (bench/client.py)
SMALL_FILE = 8 * MIB  # up to this, one request per file and many files at once
FILES_AT_ONCE = 16  # small files in flight together
PER_FILE_CONCURRENCY = 4  # parallel blocks of one large file
LOOK_BEFORE_SENDING = 4 * MIB  # without overwrite, a file this big is looked up before it is sent
TEMPORARY_PREFIX = ".studio-"
DIRECT_TYPES = ("AzureBlob", "AzureFile", "AzureDataLakeGen2")


def direct_storage_types() -> tuple[str, ...]:
    """The storage types whose bytes go straight to storage (the others stream through the studio)."""
    return DIRECT_TYPES


@dataclass(frozen=True)
class FailedFile:
    """A file that was not transferred, and why."""

    name: str
    reason: str


@dataclass
class TransferResult:
    """What a transfer did, by storage path (relative to the datastore root).

    ``len(result)`` is the number of files transferred, as Azure ML's SDK returns a count.
    """

    transferred: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: list[FailedFile] = field(default_factory=list)
    bytes_transferred: int = 0

    def __len__(self) -> int:
        return len(self.transferred)

    @property
    def count(self) -> int:
        """The number of files transferred."""
        return len(self.transferred)

    @property
    def uploaded(self) -> list[str]:
        """The files uploaded (same as ``transferred``)."""
        return self.transferred

    @property
    def downloaded(self) -> list[str]:
        """The files downloaded (same as ``transferred``)."""
        return self.transferred

    def summary(self, verb: str) -> str:
        """One line: 'Uploaded 3 files, skipped 2 (already there): a.txt, b.txt'."""
        count = len(self.transferred)
        line = f"{verb} {count} file{'' if count == 1 else 's'}, skipped {len(self.skipped)} (already there)"
        if self.skipped:
            line += ": " + ", ".join(self.skipped)
        if self.failed:
            line += f"; {len(self.failed)} failed"
        return line

    def as_dict(self) -> dict[str, Any]:
        """The result as plain JSON values."""
        return {
            "transferred": self.transferred,
            "skipped": self.skipped,
            "failed": [{"name": failed.name, "reason": failed.reason} for failed in self.failed],
            "bytes_transferred": self.bytes_transferred,
        }

    def _sorted(self) -> TransferResult:
        self.transferred.sort()
        self.skipped.sort()
        self.failed.sort(key=lambda failed: failed.name)
        return self


# --- paths ---------------------------------------------------------------------------------


class _BadPath(ValueError):
    pass


def clean_path(value: str | None) -> str:
    """A datastore path as the studio accepts it: '/'-separated, no '.' or '..' or empty segments."""
    value = (value or "").strip().strip("/")
    if not value:
        return ""
    if "\\" in value:
        raise _BadPath("Use / to separate folders, not \\.")
    if any(unicodedata.category(char) == "Cc" for char in value):
        raise _BadPath("A path cannot contain control characters.")
    if len(value) > 1024:
        raise _BadPath("A path can be at most 1024 characters long.")
    if any(segment in {"", ".", ".."} for segment in value.split("/")):
        raise _BadPath("A path cannot contain empty, '.' or '..' folders.")
    return value


def _storage_folder(value: str | None, what: str) -> str:
    try:
        return clean_path(value)
    except _BadPath as error:
        raise ValidationFailed(f"{what}: {error}", field=what.lower().replace(" ", "_")) from None


def local_target(root: Path, storage_name: str, folders: dict[Path, bool]) -> Path | None:
    """Where a stored file goes below ``root`` (a resolved path), or None when its name would escape
    it ('..', absolute paths, backslashes, drive letters, a local folder that is a link to elsewhere).
    ``folders`` remembers which folders were found inside, so a download of many files in few
    folders resolves each folder once. The file's own name is not followed: it is replaced, not
    written through, so a link there cannot send the bytes elsewhere."""
    parts = [part for part in PurePosixPath(storage_name.replace("\\", "/")).parts if part not in {"/", ""}]
    if not parts or any(part in {".", ".."} or ":" in part or "\x00" in part for part in parts):
        return None
    folder = root.joinpath(*parts[:-1])
    inside = folders.get(folder)
    if inside is None:
        inside = folders[folder] = folder.resolve().is_relative_to(root)
    return folder / parts[-1] if inside else None


def _join(folder: str, name: str) -> str:
    return f"{folder}/{name}" if folder else name


def _content_type(path: str) -> str:
    return mimetypes.guess_type(path.rpartition("/")[2])[0] or "application/octet-stream"


# --- credentials -----------------------------------------------------------------------------


class RefreshingSas(AzureSasCredential):
    """A SAS from the studio that fetches a new one shortly before it expires. The Azure SDK reads
    ``signature`` for every request, so even one long transfer never sends an expired SAS."""

    def __init__(self, fetch: Callable[[], dict[str, Any]]) -> None:
        self._fetch = fetch
        self._lock = threading.Lock()
        self.fetched = 0  # how many credentials were issued, for the curious
        data = self._refresh_now()
        super().__init__(data["sas_token"])

    def _refresh_now(self) -> dict[str, Any]:
        data = self._fetch()
        self.fetched += 1
        now = time.time()
        self._expires = _timestamp(data["expires_on"])
        self._stored = bool(data.get("stored"))
        lifetime = max(self._expires - now, 0.0)
        self._refresh_at = self._expires - max(30.0, min(300.0, lifetime / 5))
        self.resource_url: str = data["resource_url"]
        self.permissions: str = data.get("permissions", "")
        self._signature = data["sas_token"].lstrip("?")
        return data

    @property
    def signature(self) -> str:
        """The current SAS (a fresh one when the last is about to expire)."""
        if not self._stored and time.time() >= self._refresh_at:
            with self._lock:
                if time.time() >= self._refresh_at:
                    self._refresh_now()
        return self._signature


def _timestamp(value: Any) -> float:
    if isinstance(value, datetime):
        moment = value
    else:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def _storage_error(error: AzureError, action: str, path: str) -> StudioError:
    """An Azure SDK error as the SDK's own exception, with a message and no URL (a URL could carry the SAS)."""
    where = f" {path}" if path else ""
    if isinstance(error, ResourceNotFoundError):
        return PathNotFound(
            f"Not found while trying to {action}{where} ({getattr(error, 'error_code', None) or 404}).", status=404
        )
    status = getattr(error, "status_code", None)
    code = getattr(error, "error_code", None) or ""
    if isinstance(error, ClientAuthenticationError) or status == 403:
        return PermissionDenied(
            f"The storage service refused the studio's credential to {action}{where} ({code or status}).", status=403
        )
    if isinstance(error, ServiceRequestError | ServiceResponseError):
        return StorageServiceError(f"The storage service could not be reached to {action}{where}.", status=502)
    return StorageServiceError(
        f"The storage service failed to {action}{where} ({code or status or type(error).__name__}).", status=502
    )


# --- movers: one per way of reaching the bytes --------------------------------------------------

Progress = Callable[[int], None]


def pooled_transport(connections: int = FILES_AT_ONCE) -> Any:
    """One HTTP transport for all of a transfer's requests, keeping ``connections`` connections to a
    host. The Azure SDK's own keeps requests' default of 10, so with more files in flight every extra
    request opened a new connection and dropped it after (and urllib3 warned "Connection pool is
    full"). Like the SDK's own, it leaves retries to the SDK's retry policy and sends bodies in
    32 KiB writes (http.client's default is 8 KiB)."""
    import requests
    from azure.core.pipeline.transport import RequestsTransport
    from requests.adapters import HTTPAdapter
    from urllib3.util.retry import Retry

    class Adapter(HTTPAdapter):
        def init_poolmanager(self, *args: Any, **pool_kwargs: Any) -> None:
            super().init_poolmanager(*args, blocksize=32 * 1024, **pool_kwargs)

    session = requests.Session()
    adapter = Adapter(
        pool_connections=4,
        pool_maxsize=connections,
        max_retries=Retry(total=False, redirect=False, raise_on_status=False),
    )
    for scheme in ("http://", "https://"):
        session.mount(scheme, adapter)
    # The clients' own connection settings do not reach a transport they are handed: read responses
    # in 1 MiB pieces here (azure-core's default, 4 KiB, costs twice the CPU of a download).
    return RequestsTransport(session=session, session_owner=False, connection_data_block_size=MIB)


class Mover:
    """Lists, sends and fetches a datastore's files. ``direct`` says whether bytes bypass the studio."""

    direct = False
    datastore: Datastore

    def files(self, folder: str) -> Iterator[tuple[str, int]]:
        """(path, size) of every file below ``folder`` (everything when empty)."""
        raise NotImplementedError

    def exists(self, path: str) -> bool:
        """Whether a file is stored at ``path`` (only a shortcut: uploads stay conditional)."""
        raise NotImplementedError

    def upload(
        self, local: Path, path: str, size: int, *, overwrite: bool, progress: Progress, concurrency: int
    ) -> bool:
        """Send one file; False when it existed and ``overwrite`` was off."""
        raise NotImplementedError

    def download(self, path: str, file: BinaryIO, *, size: int, progress: Progress, concurrency: int) -> None:
        """Write one stored file into ``file``."""
        raise NotImplementedError


def _hook(progress: Progress) -> Callable[[int, int | None], None]:
    """The Azure SDK's progress_hook (bytes so far) as increments."""
    done = 0
    lock = threading.Lock()

    def hook(current: int, total: int | None) -> None:
        nonlocal done
        with lock:
            step, done = current - done, max(done, current)
        if step > 0:
            progress(step)

    return hook


class BlobMover(Mover):
    """Straight to Blob Storage with azure-storage-blob."""

    direct = True

    def __init__(self, datastore: Datastore, credential: RefreshingSas) -> None:
        from azure.storage.blob import ContainerClient

        self.datastore, self.credential = datastore, credential
        self.container = ContainerClient.from_container_url(
            credential.resource_url,
            credential=credential,
            transport=pooled_transport(),
            max_block_size=BLOCK_SIZE,
            max_single_put_size=SMALL_FILE,
            max_chunk_get_size=BLOCK_SIZE,
            max_single_get_size=BLOCK_SIZE,
        )

    def files(self, folder: str) -> Iterator[tuple[str, int]]:
        try:
            for blob in self.container.list_blobs(name_starts_with=f"{folder}/" if folder else None):
                if not blob.name.endswith("/"):  # a folder marker some tools write, not a file
                    yield blob.name, blob.size or 0
        except AzureError as error:
            raise _storage_error(error, "list", folder) from None

    def exists(self, path: str) -> bool:
        try:
            return bool(self.container.get_blob_client(path).exists())
        except AzureError:
            return False

    def upload(
        self, local: Path, path: str, size: int, *, overwrite: bool, progress: Progress, concurrency: int
    ) -> bool:
        from azure.storage.blob import ContentSettings

        try:
            with open(local, "rb") as file:
                self.container.get_blob_client(path).upload_blob(
                    file,
                    length=size,
                    overwrite=overwrite,
                    max_concurrency=concurrency,
                    content_settings=ContentSettings(content_type=_content_type(path)),
                    progress_hook=_hook(progress),
                )
        except (ResourceExistsError, ResourceModifiedError):
            return False
        except HttpResponseError as error:
            if not overwrite and error.status_code in (409, 412):
                return False
            raise _storage_error(error, "write", path) from None
        except AzureError as error:
            raise _storage_error(error, "write", path) from None
        return True

    def download(self, path: str, file: BinaryIO, *, size: int, progress: Progress, concurrency: int) -> None:
        try:
            stream = self.container.get_blob_client(path).download_blob(
                max_concurrency=concurrency, progress_hook=_hook(progress)
            )
            stream.readinto(file)
        except AzureError as error:
            raise _storage_error(error, "read", path) from None


def _staged_upload(
    path: str,
    *,
    overwrite: bool,
    exists: Callable[[str], bool],
    send: Callable[[], None],
    rename: Callable[[], Any],
    discard: Callable[[], Any],
) -> bool:
    """Send a file to a hidden staging name, then rename it into place (refused by the service when
    the name is taken and overwrite is off: False). The staging file never outlives a failure."""
    if not overwrite and exists(path):
        return False
    placed = False
    try:
        send()
        try:
            rename()
        except (ResourceExistsError, ResourceModifiedError):
            return False
        except HttpResponseError as error:
            if not overwrite and (
                error.status_code in (409, 412) or getattr(error, "error_code", None) == "PathAlreadyExists"
            ):
                return False
            raise
        placed = True
    except AzureError as error:
        raise _storage_error(error, "write", path) from None
    finally:
        if not placed:
            try:
                discard()
            except AzureError:
                pass
    return True


class ShareMover(Mover):
    """Straight to Azure Files with azure-storage-file-share. An upload goes to a hidden temporary
    name in its folder and is renamed into place, so a broken one is never visible."""

    direct = True

    def __init__(self, datastore: Datastore, credential: RefreshingSas) -> None:
        self.datastore, self.credential = datastore, credential
        self.transport = pooled_transport()

    def _share(self) -> Any:
        from azure.storage.fileshare import ShareClient

        # A SAS string (not the credential object): the SDK then puts it on the rename's source URL too.
        return ShareClient.from_share_url(
            self.credential.resource_url,
            credential=self.credential.signature,
            transport=self.transport,
            max_range_size=4 * MIB,
            max_single_get_size=BLOCK_SIZE,
            max_chunk_get_size=BLOCK_SIZE,
        )

    def files(self, folder: str) -> Iterator[tuple[str, int]]:
        share = self._share()
        pending = [folder]
        try:
            while pending:
                current = pending.pop()
                for item in share.get_directory_client(current).list_directories_and_files():
                    path = _join(current, item["name"])
                    if item.get("is_directory"):
                        pending.append(path)
                    elif not item["name"].startswith(TEMPORARY_PREFIX):
                        yield path, item.get("size") or 0
        except AzureError as error:
            raise _storage_error(error, "list", folder) from None

    def exists(self, path: str) -> bool:
        try:
            self._share().get_file_client(path).get_file_properties()
        except AzureError:
            return False
        return True

    def _make_folders(self, share: Any, folder: str) -> None:
        parts = folder.split("/") if folder else []
        for end in range(1, len(parts) + 1):
            try:
                share.get_directory_client("/".join(parts[:end])).create_directory()
            except ResourceExistsError:
                pass

    def upload(
        self, local: Path, path: str, size: int, *, overwrite: bool, progress: Progress, concurrency: int
    ) -> bool:
        from azure.storage.fileshare import ContentSettings

        share = self._share()
        folder, _, name = path.rpartition("/")
        staged = share.get_file_client(_join(folder, f"{TEMPORARY_PREFIX}{secrets.token_hex(6)}-{name}"[:255]))

        def send() -> None:
            self._make_folders(share, folder)
            with open(local, "rb") as file:
                staged.upload_file(
                    file,
                    length=size,
                    max_concurrency=concurrency,
                    progress_hook=_hook(progress),
                    content_settings=ContentSettings(content_type=_content_type(path)),
                )

        return _staged_upload(
            path,
            overwrite=overwrite,
            exists=self.exists,
            send=send,
            rename=lambda: staged.rename_file(path, overwrite=overwrite),
            discard=staged.delete_file,
        )

    def download(self, path: str, file: BinaryIO, *, size: int, progress: Progress, concurrency: int) -> None:
        try:
            stream = (
                self._share()
                .get_file_client(path)
                .download_file(max_concurrency=concurrency, progress_hook=_hook(progress))
            )
            stream.readinto(file)
        except AzureError as error:
            raise _storage_error(error, "read", path) from None


class Gen2Mover(Mover):
    """Straight to ADLS Gen2 with azure-storage-file-datalake; uploads are staged under a hidden
    name and renamed into place (an atomic rename)."""

    direct = True

    def __init__(self, datastore: Datastore, credential: RefreshingSas) -> None:
        self.datastore, self.credential = datastore, credential
        account_url, _, self.filesystem_name = credential.resource_url.rstrip("/").rpartition("/")
        self.account_url = account_url
        self.transport = pooled_transport()

    def _filesystem(self) -> Any:
        from azure.storage.filedatalake import FileSystemClient

        return FileSystemClient(
            self.account_url, self.filesystem_name, credential=self.credential.signature, transport=self.transport
        )

    def files(self, folder: str) -> Iterator[tuple[str, int]]:
        try:
            for item in self._filesystem().get_paths(path=folder or None, recursive=True):
                if not item.is_directory and not item.name.rpartition("/")[2].startswith(TEMPORARY_PREFIX):
                    yield item.name, item.content_length or 0
        except AzureError as error:
            raise _storage_error(error, "list", folder) from None

    def exists(self, path: str) -> bool:
        try:
            return bool(self._filesystem().get_file_client(path).exists())
        except AzureError:
            return False

    def upload(
        self, local: Path, path: str, size: int, *, overwrite: bool, progress: Progress, concurrency: int
    ) -> bool:
        from azure.core import MatchConditions
        from azure.storage.filedatalake import ContentSettings

        folder, _, name = path.rpartition("/")
        staged = self._filesystem().get_file_client(
            _join(folder, f"{TEMPORARY_PREFIX}{secrets.token_hex(6)}-{name}"[:255])
        )
        conditions = {} if overwrite else {"match_condition": MatchConditions.IfMissing}

        def send() -> None:
            content_settings = ContentSettings(content_type=_content_type(path))
            if size == 0:  # upload_data sends nothing at all for no bytes: not even the file
                staged.create_file(content_settings=content_settings)
                return
            with open(local, "rb") as file:
                staged.upload_data(
                    file,
                    length=size,
                    overwrite=True,
                    max_concurrency=concurrency,
                    chunk_size=BLOCK_SIZE,
                    progress_hook=_hook(progress),
                    content_settings=content_settings,
                )

        return _staged_upload(
            path,
            overwrite=overwrite,
            exists=self.exists,
            send=send,
            rename=lambda: staged.rename_file(f"{self.filesystem_name}/{path}", **conditions),
            discard=staged.delete_file,
        )

    def download(self, path: str, file: BinaryIO, *, size: int, progress: Progress, concurrency: int) -> None:
        try:
            stream = (
                self._filesystem()
                .get_file_client(path)
                .download_file(max_concurrency=concurrency, progress_hook=_hook(progress))
            )
            stream.readinto(file)
        except AzureError as error:
            raise _storage_error(error, "read", path) from None


class ApiMover(Mover):
    """Through the studio's file routes (``/folder``, ``/files/<path>``), streamed both ways."""

    def __init__(self, datastore: Datastore) -> None:
        self.datastore = datastore
        self.api = datastore.workspace._api
        self.base = datastore._path

    def files(self, folder: str) -> Iterator[tuple[str, int]]:
        pending = [folder]
        while pending:
            current = pending.pop()
            for entry in self.datastore.ls(current):  # type: ignore[attr-defined]
                if entry.is_folder:
                    pending.append(entry.path)
                elif not entry.path.endswith("/"):
                    yield entry.path, entry.size or 0

    def exists(self, path: str) -> bool:
        try:
            return not self.datastore.stat(path).is_folder  # type: ignore[attr-defined]
        except StudioError:
            return False

    def upload(
        self, local: Path, path: str, size: int, *, overwrite: bool, progress: Progress, concurrency: int
    ) -> bool:
        def chunks(file: BinaryIO) -> Iterator[bytes]:
            while chunk := file.read(MIB):
                progress(len(chunk))
                yield chunk

        with open(local, "rb") as file:
            answer = self.api.json(
                "PUT",
                self.base + "/files/" + quote(path),
                params={"overwrite": overwrite},
                content=chunks(file),
                headers={"Content-Length": str(size), "Content-Type": _content_type(path)},
                timeout=None,
            )
        return bool(answer["outcome"] == "uploaded")

    def download(self, path: str, file: BinaryIO, *, size: int, progress: Progress, concurrency: int) -> None:
        with self.api.stream(
            "GET", self.base + "/files/" + quote(path), not_found=PathNotFound, timeout=None
        ) as response:
            for chunk in response.iter_bytes(MIB):
                file.write(chunk)
                progress(len(chunk))


def credential_fetcher(
    datastore: Datastore, *, write: bool, lifetime_minutes: int | None = None
) -> Callable[[], dict[str, Any]]:
    """A function that asks the studio for a new scoped SAS for the whole datastore."""
    body: dict[str, Any] = {"write": write}
    if lifetime_minutes:
        body["lifetime_minutes"] = lifetime_minutes

    def fetch() -> dict[str, Any]:
        issued: dict[str, Any] = datastore.workspace._api.json("POST", datastore._path + "/credentials", json=body)
        return issued

    return fetch


def mover_for(datastore: Datastore, *, write: bool) -> Mover:
    """How to reach this datastore's files: straight to storage where a SAS can be had, else the studio."""
    if not datastore.capabilities.get("browse"):
        raise ValidationFailed(f"Datastore {datastore.name} is {datastore.storage_type_label}, which holds no files.")
    if write and not datastore.capabilities.get("upload"):
        raise ValidationFailed(f"Datastore {datastore.name} cannot take uploads.")
    kinds = {"AzureBlob": BlobMover, "AzureFile": ShareMover, "AzureDataLakeGen2": Gen2Mover}
    kind = kinds.get(datastore.datastore_type)
    if kind is None or not datastore.capabilities.get("script_credentials"):
        return ApiMover(datastore)
    try:
        credential = RefreshingSas(credential_fetcher(datastore, write=write))
    except Conflict:
        # The only credential is the stored SAS, which goes to writers only: a reader reads through the studio.
        return ApiMover(datastore)
    return kind(datastore, credential)


# --- progress --------------------------------------------------------------------------------


@contextmanager
def progress_bar(total: int, description: str, *, show: bool, stream: IO[str] | None = None) -> Iterator[Progress]:
    """A rich progress bar of bytes (with speed and time left) on stderr; a no-op when not shown."""
    if not show:
        yield lambda step: None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    console = Console(file=stream, stderr=stream is None)
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        DownloadColumn(binary_units=True),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=False,
    ) as bar:
        task = bar.add_task(description, total=total)
        yield lambda step: bar.advance(task, step)


# --- the jobs ----------------------------------------------------------------------------------


def _run(jobs: list[tuple[int, Callable[[int], None]]], max_concurrency: int | None) -> None:
    """Run file jobs: small files many at once, large ones one at a time with parallel blocks.
    The first storage error stops the job (it would fail the same way for every file)."""
    at_once = max_concurrency or FILES_AT_ONCE
    per_file = max_concurrency or PER_FILE_CONCURRENCY
    small = [job for size, job in jobs if size <= SMALL_FILE]
    large = [job for size, job in jobs if size > SMALL_FILE]
    if small:
        with ThreadPoolExecutor(max_workers=min(at_once, len(small)), thread_name_prefix="datastore-studio") as pool:
            futures: list[Future[None]] = [pool.submit(job, 1) for job in small]
            done, _pending = wait(futures, return_when=FIRST_EXCEPTION)
            failed = next((future for future in done if future.exception() is not None), None)
            if failed is not None:
                for future in futures:
                    future.cancel()
                raise failed.exception()  # type: ignore[misc]
    for job in large:
        job(per_file)


def _local_files(source: Path, result: TransferResult) -> list[tuple[Path, str, int]]:
    """(local path, path relative to ``source``, size) of every regular file below ``source``."""
    found = []

    def unreadable(error: OSError) -> None:
        name = Path(os.path.relpath(error.filename, source)).as_posix() if error.filename else "."
        result.failed.append(FailedFile(name, f"folder could not be read: {error.strerror or error}"))

    for folder, subfolders, names in os.walk(source, onerror=unreadable):
        subfolders.sort()
        for name in sorted(names):
            local = Path(folder, name)
            try:
                if local.is_file():
                    found.append((local, local.relative_to(source).as_posix(), local.stat().st_size))
            except OSError as error:
                result.failed.append(FailedFile(local.relative_to(source).as_posix(), f"could not be read: {error}"))
    return found


def _upload(
    mover: Mover,
    files: list[tuple[Path, str, int]],
    result: TransferResult,
    *,
    target: str,
    overwrite: bool,
    show_progress: bool,
    max_concurrency: int | None,
) -> TransferResult:
    lock = threading.Lock()
    jobs: list[tuple[int, Callable[[int], None]]] = []
    with progress_bar(sum(size for *_, size in files), "Upload", show=show_progress) as progress:
        for local, relative, size in files:
            storage_path = _join(target, relative)
            try:
                if clean_path(storage_path) != storage_path:
                    raise _BadPath("A name cannot start or end with a space.")
            except _BadPath as error:
                result.failed.append(FailedFile(relative, f"its name cannot be used in storage: {error}"))
                progress(size)
                continue

            def job(concurrency: int, local: Path = local, path: str = storage_path, size: int = size) -> None:
                sent = 0

                def counted(step: int) -> None:
                    nonlocal sent
                    sent += step
                    progress(step)

                if not overwrite and size >= LOOK_BEFORE_SENDING and mover.exists(path):
                    outcome = False
                else:
                    try:
                        outcome = mover.upload(
                            local, path, size, overwrite=overwrite, progress=counted, concurrency=concurrency
                        )
                    except OSError as error:
                        with lock:
                            result.failed.append(FailedFile(path, f"could not be read: {error.strerror or error}"))
                        progress(max(size - sent, 0))
                        return
                    except StudioError as error:
                        raise TransferStopped(
                            f"Uploading {path}: {error.message}", result, status=error.status
                        ) from None
                progress(max(size - sent, 0))
                with lock:
                    if outcome:
                        result.transferred.append(path)
                        result.bytes_transferred += size
                    else:
                        result.skipped.append(path)

            jobs.append((size, job))
        _run(jobs, max_concurrency)
    return result._sorted()


def upload_tree(
    mover: Mover,
    src_dir: str | os.PathLike[str],
    *,
    target_path: str | None,
    overwrite: bool,
    show_progress: bool,
    max_concurrency: int | None = None,
) -> TransferResult:
    """Upload every file below ``src_dir`` to ``target_path``, keeping relative paths."""
    source = Path(src_dir)
    if not source.is_dir():
        raise ValidationFailed(f"{str(source)!r} is not a folder.", field="src_dir")
    target = _storage_folder(target_path, "Target path")
    result = TransferResult()
    files = _local_files(source, result)
    return _upload(
        mover,
        files,
        result,
        target=target,
        overwrite=overwrite,
        show_progress=show_progress,
        max_concurrency=max_concurrency,
    )


def upload_list(
    mover: Mover,
    files: Iterable[str | os.PathLike[str]],
    *,
    relative_root: str | os.PathLike[str] | None,
    target_path: str | None,
    overwrite: bool,
    show_progress: bool,
    max_concurrency: int | None = None,
) -> TransferResult:
    """Upload the given files, each at its path relative to ``relative_root`` (else its name)."""
    target = _storage_folder(target_path, "Target path")
    root = Path(relative_root).resolve() if relative_root is not None else None
    result = TransferResult()
    chosen = []
    for item in files:
        local = Path(item)
        try:
            if not local.is_file():
                result.failed.append(FailedFile(str(item), "is not a file"))
                continue
            size = local.stat().st_size
        except OSError as error:
            result.failed.append(FailedFile(str(item), f"could not be read: {error.strerror or error}"))
            continue
        if root is None:
            relative = local.name
        else:
            resolved = local.resolve()
            if not resolved.is_relative_to(root):
                result.failed.append(FailedFile(str(item), "is not below relative_root; not uploaded"))
                continue
            relative = resolved.relative_to(root).as_posix()
        chosen.append((local, relative, size))
    return _upload(
        mover,
        chosen,
        result,
        target=target,
        overwrite=overwrite,
        show_progress=show_progress,
        max_concurrency=max_concurrency,
    )


def download_tree(
    mover: Mover,
    target_path: str | os.PathLike[str],
    *,
    prefix: str | None,
    overwrite: bool,
    show_progress: bool,
    max_concurrency: int | None = None,
) -> TransferResult:
    """Download every file below the storage folder ``prefix`` into ``target_path``."""
    folder = _storage_folder(prefix, "Prefix")
    root = Path(target_path)
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ValidationFailed(
            f"Cannot create the folder {str(root)!r}: {error.strerror or error}", field="target_path"
        ) from None
    root = root.resolve()
    result = TransferResult()
    try:
        entries = list(mover.files(folder))
    except StudioError as error:
        raise TransferStopped(
            f"Listing {folder or 'the datastore'}: {error.message}", result, status=error.status
        ) from None
    lock = threading.Lock()
    jobs: list[tuple[int, Callable[[int], None]]] = []
    folders: dict[Path, bool] = {}
    with progress_bar(sum(size for _, size in entries), "Download", show=show_progress) as progress:
        for path, size in entries:
            target = local_target(root, path, folders)
            if target is None:
                result.failed.append(FailedFile(path, "its name would land outside the target folder; not written"))
                progress(size)
                continue
            if target.is_dir():
                result.failed.append(FailedFile(path, "a local folder has that name; not written"))
                progress(size)
                continue
            if target.exists() and not overwrite:
                result.skipped.append(path)
                progress(size)
                continue

            def job(concurrency: int, path: str = path, target: Path = target, size: int = size) -> None:
                written = 0

                def counted(step: int) -> None:
                    nonlocal written
                    written += step
                    progress(step)

                try:
                    placed = _write_into_place(
                        target,
                        lambda file: mover.download(path, file, size=size, progress=counted, concurrency=concurrency),
                        overwrite=overwrite,
                    )
                except OSError as error:
                    with lock:
                        result.failed.append(FailedFile(path, f"could not be written: {error.strerror or error}"))
                    progress(max(size - written, 0))
                    return
                except StudioError as error:
                    raise TransferStopped(f"Downloading {path}: {error.message}", result, status=error.status) from None
                progress(max(size - written, 0))
                with lock:
                    if placed:
                        result.transferred.append(path)
                        result.bytes_transferred += written
                    else:
                        result.skipped.append(path)  # it appeared locally meanwhile

            jobs.append((size, job))
        _run(jobs, max_concurrency)
    return result._sorted()


def _write_into_place(target: Path, write: Callable[[BinaryIO], None], *, overwrite: bool) -> bool:
    """Write through a temporary file beside the target, then move it into place; without
    overwrite the move is a hard link, which refuses a name that appeared meanwhile (False)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    while True:
        temporary = target.with_name(f"{TEMPORARY_PREFIX}{secrets.token_hex(8)}")
        try:  # exclusive, never through a link, and with a new file's usual mode (0666 less the umask)
            descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o666)
            break
        except FileExistsError:
            continue
    try:
        with os.fdopen(descriptor, "wb") as file:
            write(file)
        if overwrite:
            os.replace(temporary, target)
            return True
        try:
            os.link(temporary, target)
        except FileExistsError:
            return False
        except OSError:  # a file system without hard links
            if target.exists():
                return False
            os.replace(temporary, target)
        return True
    finally:
        if os.path.lexists(temporary):
            os.unlink(temporary)
