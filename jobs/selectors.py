"""Reads for the Jobs page and the copy form."""

from __future__ import annotations

from dataclasses import dataclass

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


@dataclass(frozen=True)
class JobRow:
    """A row of the Jobs tab: the job, the files it skipped (named), and whether the viewer may cancel it."""

    job: Job
    skipped_paths: list[str]
    cancellable: bool


def may_cancel(actor: Actor, job: Job, can: access.Permissions) -> bool:
    """The starter, or an owner of the workspace, while the job has not ended."""
    return job.is_active and (can.manage or (actor.user is not None and job.started_by_id == actor.user.pk))


def jobs_page(workspace: Workspace, actor: Actor, can: access.Permissions) -> list[JobRow]:
    return [
        JobRow(
            job=job,
            skipped_paths=(  # few jobs skip any
                list(job.items.filter(state=ItemState.SKIPPED).values_list("path", flat=True)[:SKIPS_SHOWN])
                if job.items_skipped
                else []
            ),
            cancellable=may_cancel(actor, job, can),
        )
        for job in jobs_of(workspace)[:JOBS_SHOWN]
    ]


def any_active(rows: list[JobRow]) -> bool:
    return any(row.job.state in ACTIVE_STATES for row in rows)


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
