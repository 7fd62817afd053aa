"""Reads."""

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from .models import Datastore, Workspace

SESSION_WORKSPACE_KEY = "workspace_id"


def workspace_list() -> QuerySet[Workspace]:
    return Workspace.objects.all()


def workspace_current(request) -> Workspace | None:
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
