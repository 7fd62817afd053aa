"""Reads for the Jobs page and the copy form."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q, QuerySet
from django.http import Http404

from datastores import access
from datastores.access import Actor, Need
from datastores.models import Datastore, Workspace
from datastores.storage import BACKENDS

from .models import ACTIVE_STATES, ItemState, Job, JobKind

JOBS_SHOWN = 50
SKIPS_SHOWN = 100


def jobs_of(workspace: Workspace) -> QuerySet[Job]:
    """The workspace's jobs, newest first: those started in it and the copies into it."""
    return (
        Job.objects.filter(Q(workspace=workspace) | Q(target__workspace=workspace))
        .select_related("started_by", "source", "source__workspace", "target", "target__workspace")
        .order_by("-created_at", "-pk")
    )


@dataclass(frozen=True)
class JobRow:
    """A row of the Jobs tab: the job, the files it skipped (named), and whether the viewer may cancel it."""

    job: Job
    skipped_paths: list[str]
    cancellable: bool
    downloadable: bool = False  # its zip is ready, and the viewer may have it


def may_cancel(actor: Actor, job: Job, can: access.Permissions) -> bool:
    """The starter, or an owner of the workspace, while the job has not ended."""
    return job.is_active and (can.manage or (actor.user is not None and job.started_by_id == actor.user.pk))


def may_download(actor: Actor, job: Job) -> bool:
    """A job's zip: for its starter, or anyone who may read the datastore it was made from."""
    if not job.result_ready:
        return False
    if actor.user is not None and job.started_by_id == actor.user.pk:
        return True
    if job.source is None:
        return False
    return access.allows(access.role_in(actor, job.source.workspace), Need.VIEW)


def job_result(actor: Actor, workspace: Workspace, job_id: int) -> Job:
    """The finished zip job of this workspace that the actor may download; 404 otherwise (a job
    of a workspace one cannot see, one still running, one expired, one refused)."""
    job = jobs_of(workspace).filter(pk=job_id, kind=JobKind.ZIP).first()
    if job is None or not may_download(actor, job):
        raise Http404("There is no zip of this job to download.")
    return job


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
            downloadable=job.kind == JobKind.ZIP and may_download(actor, job),
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
