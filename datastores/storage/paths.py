"""Paths inside a datastore, and where a downloaded file may land on a local disk."""

from __future__ import annotations

import mimetypes
import unicodedata
from pathlib import Path, PurePosixPath

from .errors import InvalidInput

MAX_PATH_LENGTH = 1024


class BadPath(InvalidInput):
    """A path a user typed, or a blob name, that cannot be used safely."""


def clean_path(value: str) -> str:
    """A datastore path: '/'-separated, no leading or trailing '/', no '.' or '..' segments.

    Raises BadPath with a message for the user.
    """
    value = (value or "").strip().strip("/")
    if not value:
        return ""
    if "\\" in value:
        raise BadPath("Use / to separate folders, not \\.")
    if any(unicodedata.category(char) == "Cc" for char in value):
        raise BadPath("A path cannot contain control characters.")
    if len(value) > MAX_PATH_LENGTH:
        raise BadPath(f"A path can be at most {MAX_PATH_LENGTH} characters long.")
    segments = value.split("/")
    if any(segment in {"", ".", ".."} for segment in segments):
        raise BadPath("A path cannot contain empty, '.' or '..' folders.")
    return value


def join(folder: str, name: str) -> str:
    return f"{folder}/{name}" if folder else name


def parent(path: str) -> str:
    return path.rpartition("/")[0]


def name_of(path: str) -> str:
    return path.rpartition("/")[2]


def local_target(root: Path, storage_name: str) -> Path | None:
    """Where a stored file goes below `root`, or None when its name would escape it.

    Names come from the storage service and are not trusted: '..', absolute paths,
    backslashes and drive letters never lead outside `root`.
    """
    parts = [part for part in PurePosixPath(storage_name.replace("\\", "/")).parts if part not in {"/", ""}]
    if not parts or any(part in {".", ".."} or ":" in part or "\x00" in part for part in parts):
        return None
    root = root.resolve()
    target = root.joinpath(*parts).resolve()
    return target if target.is_relative_to(root) and target != root else None


def guess_content_type(path: str) -> str:
    return mimetypes.guess_type(name_of(path))[0] or "application/octet-stream"
