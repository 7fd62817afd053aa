"""Reads for the Jobs page and the copy form."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from datastores import access
from datastores.access import Actor, Need
from datastores.models import Datastore, Workspace
from datastores.storage import BACKENDS

from .models import ACTIVE_STATES, ItemState, Job

JOBS_SHOWN = 50
SKIPS_SHOWN = 100


def jobs_of(workspace: Workspace) -> QuerySet[Job]:
    """The workspace's jobs, newest first: those started in it and the copies into it."""
    return (
        Job.objects.filter(Q(workspace=workspace) | Q(target__workspace=workspace))
        .select_related("started_by", "source", "target", "target__workspace")
        .order_by("-created_at", "-pk")
    )


def jobs_page(workspace: Workspace) -> list[Job]:
    jobs = list(jobs_of(workspace)[:JOBS_SHOWN])
    for job in jobs:  # the skipped files, named (few jobs skip any)
        job.skipped_paths = (
            list(job.items.filter(state=ItemState.SKIPPED).values_list("path", flat=True)[:SKIPS_SHOWN])
            if job.items_skipped
            else []
        )
    return jobs


def any_active(jobs: list[Job]) -> bool:
    return any(job.state in ACTIVE_STATES for job in jobs)


def copy_targets(actor: Actor) -> list[tuple[str, list[Datastore]]]:
    """(workspace name, its file datastores) for every workspace where the actor may change files."""
    found = []
    for workspace in access.visible_workspaces(actor).order_by("name"):
        if not access.allows(access.role_in(actor, workspace), Need.CHANGE):
            continue
        datastores = [
            datastore
            for datastore in workspace.datastores.order_by("name")
            if (backend := BACKENDS.get(datastore.storage_type)) and backend.capabilities.upload
        ]
        if datastores:
            found.append((workspace.name, datastores))
    return found
