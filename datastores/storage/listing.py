"""Folder listings, as the file-like storage types share them: folder entries,
folders first, and pages filtered by name prefix from services that page by
themselves (Data Lake Storage Gen1 and Gen2, DBFS)."""

from __future__ import annotations

from collections.abc import Callable

from .base import Entry, FolderPage
from .errors import InvalidInput
from .staging import is_staging_name

# A name-prefix filter reads pages until one has a match, but never more than this many.
MAX_PAGES_SCANNED = 20


def folder_entry(folder_path: str) -> Entry:
    folder_path = folder_path.rstrip("/")
    return Entry(name=folder_path.rpartition("/")[2], path=folder_path, is_folder=True)


def folders_first(entries: list[Entry]) -> list[Entry]:
    return sorted(entries, key=lambda entry: (not entry.is_folder, entry.name))


def filtered_page(
    fetch: Callable[[str | None], tuple[list[Entry], str | None]], continuation: str | None, name_prefix: str
) -> FolderPage:
    """One page from a service that pages by itself, without staging files and filtered by name prefix.

    Neither Data Lake service filters a listing by name prefix, so a page whose
    entries are all filtered out is followed by the next one (a prefix shows
    matches, not empty pages), up to MAX_PAGES_SCANNED pages.
    """
    entries: list[Entry] = []
    for _ in range(MAX_PAGES_SCANNED):
        batch, continuation = fetch(continuation)
        entries += [e for e in batch if not is_staging_name(e.name) and e.name.startswith(name_prefix)]
        if entries or not continuation:
            break
    return FolderPage(folders_first(entries), continuation or None)


def refuse_root(path: str, action: str) -> None:
    if not path:
        raise InvalidInput(f"The datastore's root folder cannot be {action}.")
