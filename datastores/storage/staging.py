"""Uploads in progress: written under a hidden name in the target folder, then renamed
into place, so a failed upload never leaves a partial file visible. Listings hide them.

A process killed between the two leaves its staging file behind. A caller that can run the
upload again (a copy job) names its staging files (`staging_named`), so that the re-run can
delete what the killed one left (`staging_path_of`)."""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from . import paths
from .base import UploadOutcome
from .errors import StorageError

logger = logging.getLogger(__name__)

STAGING_PREFIX = ".studio-upload-"

_staging_key: ContextVar[str | None] = ContextVar("staging_key", default=None)


def _hidden_name(path: str, key: str | None) -> str:
    suffix = hashlib.sha256(key.encode()).hexdigest()[:32] if key else uuid.uuid4().hex
    return paths.join(paths.parent(path), f"{STAGING_PREFIX}{suffix}")


def staging_path(path: str) -> str:
    """A hidden name in the same folder as `path`, written before a rename makes the file visible:
    random, or, inside `staging_named(key)`, the one `staging_path_of(path, key)` names."""
    return _hidden_name(path, _staging_key.get())


def staging_path_of(path: str, key: str) -> str:
    """The staging name an upload of `path` made inside `staging_named(key)` used."""
    return _hidden_name(path, key)


@contextmanager
def staging_named(key: str) -> Iterator[None]:
    """Uploads in this block stage under names made from `key` (unique to one attempt of one
    upload: two uploads must never share a staging file)."""
    token = _staging_key.set(key)
    try:
        yield
    finally:
        _staging_key.reset(token)


def is_staging_name(name: str) -> bool:
    return name.startswith(STAGING_PREFIX)


@contextmanager
def removed_on_failure(remove: Callable[[], object]) -> Iterator[None]:
    """Delete a staging file if anything goes wrong, then let the error through."""
    try:
        yield
    except BaseException:
        try:
            remove()
        except Exception:  # the original error is the one to report
            logger.warning("Could not delete a staging file after a failed upload.")
        raise


def put_in_place(
    staged: str,
    path: str,
    *,
    overwrite: bool,
    rename: Callable[[str, str], bool],
    remove: Callable[[str], object],
    exists: Callable[[str], bool],
) -> UploadOutcome:
    """Rename a staged file onto `path`, for services whose rename never replaces a file
    (WebHDFS, DBFS). `rename(source, destination)` answers False when the destination is
    taken. With overwrite on, an existing file is renamed aside first and put back if the
    swap fails; with it off, the refused rename decides SKIPPED."""
    declined = StorageError(f"The service declined to move the uploaded file to {path!r}. Try again.")
    if rename(staged, path):
        return UploadOutcome.UPLOADED
    if not overwrite:
        remove(staged)
        if exists(path):
            return UploadOutcome.SKIPPED
        raise declined
    aside = _hidden_name(path, None)  # never the staged file's own name
    moved_aside = rename(path, aside)
    if not rename(staged, path):
        if moved_aside:
            rename(aside, path)
        raise declined
    if moved_aside:
        remove(aside)
    return UploadOutcome.UPLOADED
