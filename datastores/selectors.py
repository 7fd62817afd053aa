"""Reads: workspaces, datastores, and what the storage behind a datastore holds."""

from __future__ import annotations

from collections.abc import Iterator

from django.db.models import QuerySet
from django.http import HttpRequest
from django.shortcuts import get_object_or_404

from .models import Datastore, Workspace
from .storage import Download, Entry, FolderPage, InvalidInput
from .storage.paths import clean_path

SESSION_WORKSPACE_KEY = "workspace_id"


def workspace_list() -> QuerySet[Workspace]:
    return Workspace.objects.all()


def workspace_current(request: HttpRequest) -> Workspace | None:
    """The workspace chosen in this session, or the first one."""
    workspace_id = request.session.get(SESSION_WORKSPACE_KEY)
    workspace = Workspace.objects.filter(pk=workspace_id).first() if workspace_id else None
    return workspace or Workspace.objects.first()


def datastore_list(workspace: Workspace, *, search: str = "") -> QuerySet[Datastore]:
    datastores = workspace.datastores.all()
    if search:
        datastores = datastores.filter(name__icontains=search)
    return datastores


def datastore_get(workspace: Workspace, name: str) -> Datastore:
    return get_object_or_404(Datastore, workspace=workspace, name=name)


# --- files ---------------------------------------------------------------------------------


def folder_page(
    datastore: Datastore, folder: str, *, name_prefix: str = "", continuation: str | None = None, page_size: int = 100
) -> FolderPage:
    """One page of a folder (subfolders first); `continuation` comes from the previous page."""
    return datastore.backend.list_folder(
        datastore.connection(), clean_path(folder), name_prefix=name_prefix, continuation=continuation, page_size=page_size
    )


def folder_files(datastore: Datastore, folder: str) -> Iterator[Entry]:
    """Every file below a folder, lazily."""
    return datastore.backend.walk_files(datastore.connection(), clean_path(folder))


def file_download(datastore: Datastore, path: str) -> Download:
    """A file named by a path a user typed (checked here)."""
    clean = clean_path(path)
    if not clean:
        raise InvalidInput("Name the file.")
    return datastore.backend.download(datastore.connection(), clean)


def entry_download(datastore: Datastore, entry: Entry) -> Download:
    """A file from the storage's own listing, by its stored name as it is (which may hold
    what a typed path may not, such as a leading "/")."""
    return datastore.backend.download(datastore.connection(), entry.path)
