"""Folder uploads and downloads between a local disk and a datastore, as the SDK's
`datastore.upload(src_dir, target_path, overwrite, show_progress)` and
`datastore.download(target_path, prefix, overwrite, show_progress)` do.

The management commands `upload` and `download` are thin wrappers over this module.
Every file goes through the same services and selectors as the pages
(`services.file_upload`, `selectors.file_download`); this module only walks the
local disk and reports.

What stops a job and what does not:
- a StorageError (authentication, network, a missing container) stops it: it would
  fail the same way for every file. `TransferStopped` carries what was done before.
- a problem with one file (a name that would land outside the target folder, a local
  file that cannot be read or written) is recorded in `failed` and the job goes on.
- a file that exists where overwrite is off is `skipped`, as in the SDK.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, BinaryIO

from tqdm import tqdm

from .. import access, selectors, services
from ..access import Actor, Need, RoleRequired
from ..models import Datastore, Workspace
from ..storage import StorageError, StoredSettingsInvalid, UploadOutcome, paths

TEMPORARY_PREFIX = ".studio-download-"
# With overwrite off, a file at least this big is looked up before it is sent, so a second run
# does not send gigabytes only to be told they exist. The upload stays conditional all the same.
LOOK_BEFORE_SENDING = 4 * 1024 * 1024


def _current_umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


UMASK = _current_umask()  # read once at import: os.umask() is process-wide, so never from a worker thread


class TransferError(Exception):
    """The job cannot start: unknown workspace or datastore, bad path, missing folder."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class TransferStopped(StorageError):
    """The storage service failed midway; `result` holds what was done before."""

    def __init__(self, message: str, result: TransferResult):
        super().__init__(message)
        self.result = result


@dataclass(frozen=True)
class FailedFile:
    name: str
    reason: str


@dataclass
class TransferResult:
    """Storage paths (relative to the datastore root) of what happened to each file."""

    transferred: list[str] = field(default_factory=list)  # uploaded, or downloaded
    skipped: list[str] = field(default_factory=list)  # it was already there and overwrite was off
    failed: list[FailedFile] = field(default_factory=list)
    bytes_transferred: int = 0

    def summary(self, verb: str) -> str:
        """'Uploaded 3 files, skipped 2 (already there): a.txt, b.txt'"""
        count = len(self.transferred)
        line = f"{verb} {count} file{'' if count == 1 else 's'}, skipped {len(self.skipped)} (already there)"
        if self.skipped:
            line += ": " + ", ".join(self.skipped)
        if self.failed:
            line += f"; {len(self.failed)} failed"
        return line

    @property
    def uploaded(self) -> list[str]:
        return self.transferred

    @property
    def downloaded(self) -> list[str]:
        return self.transferred


# --- which datastore -------------------------------------------------------------------


def datastore_for_transfer(
    *, actor: Actor, workspace_name: str | None, datastore_name: str | None, need: Need = Need.VIEW
) -> Datastore:
    """The named datastore, or the workspace default; the workspace may be omitted when the
    actor sees only one. The actor's role must allow `need` (access.py decides)."""
    workspace = _workspace(actor, workspace_name)
    if datastore_name:
        datastore = workspace.datastores.filter(name=datastore_name).first()
        if datastore is None:
            raise TransferError(
                f"Workspace {workspace.name} has no datastore {datastore_name!r}. "
                f"Its datastores: {_names(workspace.datastores.all())}."
            )
    else:
        datastore = workspace.datastores.filter(is_default=True).first()
        if datastore is None:
            raise TransferError(
                f"Workspace {workspace.name} has no default datastore. Choose one with --datastore: "
                f"{_names(workspace.datastores.all())}."
            )
    try:
        backend = datastore.backend
    except StoredSettingsInvalid as invalid:
        raise TransferError(f"Datastore {datastore.name} cannot be used: {invalid.message}") from None
    if not backend.capabilities.moves_files:
        raise TransferError(
            f"Datastore {datastore.name} is {backend.label}, which holds no files to upload or download."
        )
    try:
        access.datastore_for(actor, workspace.name, datastore.name, need)
    except RoleRequired as refused:
        raise TransferError(str(refused)) from None
    return datastore


def _workspace(actor: Actor, name: str | None) -> Workspace:
    workspaces = list(access.visible_workspaces(actor).order_by("name"))
    if name:
        for workspace in workspaces:
            if workspace.name == name:
                return workspace
        raise TransferError(f"There is no workspace {name!r}. Workspaces: {_names(workspaces)}.")
    if len(workspaces) == 1:
        return workspaces[0]
    if not workspaces:
        raise TransferError("There is no workspace yet: create one in the studio first.")
    raise TransferError(f"There are {len(workspaces)} workspaces; choose one with --workspace: {_names(workspaces)}.")


def _names(items: Iterable[Datastore | Workspace]) -> str:
    return ", ".join(item.name for item in items) or "(none)"


def _connection(datastore: Datastore) -> None:
    """Refuse to start when the stored settings or secrets cannot be read."""
    try:
        datastore.connection()
    except StoredSettingsInvalid as error:
        raise TransferError(f"Datastore {datastore.name} cannot be used: {error.message}") from None


def _storage_folder(value: str | None, what: str) -> str:
    try:
        return paths.clean_path(value or "")
    except paths.BadPath as error:
        raise TransferError(f"{what}: {error}") from None


# --- progress ----------------------------------------------------------------------------


@contextmanager
def _progress_bar(total: int, *, progress: bool, stream: IO[str] | None, description: str) -> Iterator[tqdm[Any]]:
    """One bar for the bytes of the whole job; the current file name goes in the postfix."""
    bar = tqdm(
        total=total,
        desc=description,
        unit="B",
        unit_scale=True,
        unit_divisor=1024,
        file=stream or sys.stderr,
        disable=not progress,
        dynamic_ncols=True,
    )
    try:
        yield bar
    finally:
        bar.close()


# --- upload --------------------------------------------------------------------------------


def upload_directory(
    datastore: Datastore,
    src_dir: str | os.PathLike,
    *,
    target_path: str | None = None,
    overwrite: bool = False,
    progress: bool = True,
    progress_stream: IO[str] | None = None,
    actor: Actor | None = None,
) -> TransferResult:
    """Upload every file below `src_dir` to `target_path` (the root when None), keeping relative paths."""
    source = Path(src_dir)
    if not source.is_dir():
        raise TransferError(f"{str(source)!r} is not a folder.")
    target = _storage_folder(target_path, "Target path")
    _connection(datastore)
    backend = datastore.backend
    result = TransferResult()
    files = _local_files(source, result)
    with _progress_bar(
        sum(size for _, size in files), progress=progress, stream=progress_stream, description="Upload"
    ) as bar:
        for local, size in files:
            relative = local.relative_to(source).as_posix()
            storage_path = paths.join(target, relative)
            try:
                if paths.clean_path(storage_path) != storage_path:
                    raise paths.BadPath("A name cannot start or end with a space.")
            except paths.BadPath as error:
                result.failed.append(FailedFile(relative, f"its name cannot be used in storage: {error}"))
                bar.update(size)
                continue
            bar.set_postfix_str(storage_path, refresh=False)
            if not overwrite and size >= LOOK_BEFORE_SENDING and _already_stored(datastore, storage_path, actor):
                result.skipped.append(storage_path)
                bar.update(size)
                continue
            sent = 0

            def counted(chunks: Iterator[bytes]) -> Iterator[bytes]:
                nonlocal sent
                for chunk in chunks:
                    sent += len(chunk)
                    bar.update(len(chunk))
                    yield chunk

            try:
                with open(local, "rb") as file:
                    outcome = services.file_upload(
                        datastore=datastore,
                        path=storage_path,
                        chunks=counted(_read_chunks(file, backend.upload_block_size)),
                        overwrite=overwrite,
                        content_type=paths.guess_content_type(storage_path),
                        size=os.fstat(file.fileno()).st_size,
                        actor=actor,
                    )
            except StorageError as error:
                raise TransferStopped(f"Uploading {storage_path}: {error.message}", result) from None
            except OSError as error:
                result.failed.append(FailedFile(storage_path, f"could not be read: {error.strerror or error}"))
                bar.update(max(size - sent, 0))
                continue
            bar.update(max(size - sent, 0))  # the file shrank since it was listed
            if outcome == UploadOutcome.SKIPPED:
                result.skipped.append(storage_path)
            else:
                result.transferred.append(storage_path)
                result.bytes_transferred += sent
    return result


def _already_stored(datastore: Datastore, path: str, actor: Actor | None) -> bool:
    """Whether a file is stored under `path`, from one short listing. Only a shortcut: on any
    doubt it answers False and the conditional upload decides."""
    try:
        page = selectors.folder_page(
            datastore, paths.parent(path), actor=actor, name_prefix=paths.name_of(path), page_size=5
        )
    except StorageError:
        return False
    return any(entry.path == path and not entry.is_folder for entry in page.entries)


def _local_files(source: Path, result: TransferResult) -> list[tuple[Path, int]]:
    """Every regular file below `source` with its size, in a stable order."""
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
                    found.append((local, local.stat().st_size))
            except OSError as error:
                result.failed.append(FailedFile(local.relative_to(source).as_posix(), f"could not be read: {error}"))
    return found


def _read_chunks(file: BinaryIO, chunk_size: int) -> Iterator[bytes]:
    while chunk := file.read(chunk_size):
        yield chunk


# --- download ------------------------------------------------------------------------------


def download_prefix(
    datastore: Datastore,
    target_dir: str | os.PathLike,
    *,
    prefix: str | None = None,
    overwrite: bool = False,
    progress: bool = True,
    progress_stream: IO[str] | None = None,
    actor: Actor | None = None,
) -> TransferResult:
    """Download every file below the storage folder `prefix` (everything when None) into `target_dir`.

    As in the SDK, each file keeps its full storage path below `target_dir`. Storage names are
    not trusted: one that would land outside `target_dir` is never written. Each file is written
    to a temporary file beside its target and renamed into place, so an interrupted download
    leaves no partial file under a real name.
    """
    folder = _storage_folder(prefix, "Prefix")
    root = Path(target_dir)
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise TransferError(f"Cannot create the folder {str(root)!r}: {error.strerror or error}") from None
    _connection(datastore)
    result = TransferResult()
    try:
        entries = list(selectors.folder_files(datastore, folder))
    except StorageError as error:
        raise TransferStopped(f"Listing {folder or 'the datastore'}: {error.message}", result) from None
    total = sum(entry.size or 0 for entry in entries)
    with _progress_bar(total, progress=progress, stream=progress_stream, description="Download") as bar:
        for entry in entries:
            if entry.path.endswith("/"):
                continue  # a folder marker (some tools write empty "folder/" blobs), not a file
            expected = entry.size or 0
            target = paths.local_target(root, entry.path)
            if target is None:
                result.failed.append(
                    FailedFile(entry.path, "its name would land outside the target folder; not written")
                )
                bar.update(expected)
                continue
            if target.is_dir():
                result.failed.append(FailedFile(entry.path, "a local folder has that name; not written"))
                bar.update(expected)
                continue
            if target.exists() and not overwrite:
                result.skipped.append(entry.path)
                bar.update(expected)
                continue
            bar.set_postfix_str(entry.path, refresh=False)
            written = 0

            def counted(chunks: Iterator[bytes]) -> Iterator[bytes]:
                nonlocal written
                for chunk in chunks:
                    written += len(chunk)
                    bar.update(len(chunk))
                    yield chunk

            try:
                download = selectors.entry_download(datastore, entry, actor=actor)
                placed = _write_into_place(target, counted(download.chunks), overwrite=overwrite)
            except StorageError as error:
                raise TransferStopped(f"Downloading {entry.path}: {error.message}", result) from None
            except OSError as error:
                result.failed.append(FailedFile(entry.path, f"could not be written: {error.strerror or error}"))
                bar.update(max(expected - written, 0))
                continue
            bar.update(max(expected - written, 0))
            if placed:
                result.transferred.append(entry.path)
                result.bytes_transferred += written
            else:
                result.skipped.append(entry.path)  # it appeared locally while we downloaded
    return result


def _write_into_place(target: Path, chunks: Iterator[bytes], *, overwrite: bool) -> bool:
    """Write to a temporary file in the target's folder, then move it into place.

    Without overwrite the move is a hard link, which refuses an existing name, so a file
    that appeared meanwhile is kept. Returns False in that case.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(prefix=TEMPORARY_PREFIX, dir=target.parent)
    try:
        with os.fdopen(descriptor, "wb") as file:
            for chunk in chunks:
                file.write(chunk)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, 0o666 & ~UMASK)  # mkstemp makes it private; give it a normal file's mode
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
