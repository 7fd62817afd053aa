"""Starting, cancelling and picking up jobs. Pages start jobs here; the workers' housekeeping
(jobs/housekeeping.py) picks up the ones whose worker died and schedules the health checks."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import F, Q
from django.http import Http404
from django.tasks import TaskResultStatus
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from datastores import access
from datastores.access import Actor, Need
from datastores.models import Datastore, Workspace
from datastores.storage import InvalidInput
from datastores.storage.paths import clean_path
from datastores.streams import zip_name

from . import results, selectors
from .models import ACTIVE_STATES, Job, JobItem, JobKind, JobState
from .tasks import run_job

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 5  # pick-ups of one job after its worker died, before it is failed


class JobRefused(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def _enqueue(job: Job) -> None:
    """Queue a task for the job's current attempt (inside the caller's transaction: the task and
    the job appear together)."""
    result = run_job.enqueue(job.pk, job.attempt, job.kind)
    Job.objects.filter(pk=job.pk).update(task_result_id=str(result.id), heartbeat_at=timezone.now())
    job.task_result_id = str(result.id)


def copy_target(actor: Actor, choice: str) -> Datastore:
    """The target a form names as "workspace/datastore": one the actor may change (contributor)."""
    workspace_name, _, name = choice.partition("/")
    try:
        datastore, _can = access.datastore_for(actor, workspace_name, name, Need.CHANGE)
    except Http404:
        raise InvalidInput("Choose a datastore you may write to.", field="target") from None
    except PermissionDenied as refused:
        raise InvalidInput(str(refused), field="target") from None
    if not datastore.backend.capabilities.upload:
        raise InvalidInput(f"{datastore.name} takes no files: choose a file datastore.", field="target")
    return datastore


def copy_start(
    *,
    actor: Actor,
    source: Datastore,
    source_path: str,
    is_folder: bool,
    target_choice: str,
    target_path: str,
    overwrite: bool = False,
) -> Job:
    """Queue a copy of a file or folder of `source` (which the actor may read: the view got it
    through access.py) into a folder of another datastore the actor may change."""
    clean_source = clean_path(source_path)
    try:
        clean_target = clean_path(target_path)
    except InvalidInput as bad:
        raise InvalidInput(bad.message, field="target_path") from None
    if not is_folder and not clean_source:
        raise InvalidInput("Choose the file to copy.")
    target = copy_target(actor, target_choice)
    landing_folder = clean_target
    if target.pk == source.pk:
        inside = clean_source if is_folder else ""
        copied_onto_itself = clean_source.rpartition("/")[0] == landing_folder
        if (inside and (landing_folder == inside or landing_folder.startswith(inside + "/"))) or copied_onto_itself:
            raise InvalidInput(
                "That copies onto itself: choose another datastore or another folder.", field="target_path"
            )
    with transaction.atomic():
        job = Job.objects.create(
            workspace=source.workspace,
            kind=JobKind.COPY,
            started_by=actor.user,
            source=source,
            source_path=clean_source,
            source_is_folder=is_folder,
            target=target,
            target_path=clean_target,
            overwrite=overwrite,
        )
        _enqueue(job)
    return job


def folder_delete_start(*, actor: Actor, datastore: Datastore, path: str) -> Job:
    """Queue the deletion of a folder with everything in it (the view checked the role: contributor)."""
    folder = clean_path(path)
    if not folder:
        raise InvalidInput("The datastore's root folder cannot be deleted.")
    with transaction.atomic():
        job = Job.objects.create(
            workspace=datastore.workspace,
            kind=JobKind.DELETE,
            started_by=actor.user,
            source=datastore,
            source_path=folder,
            source_is_folder=True,
        )
        _enqueue(job)
    return job


def zip_start(*, actor: Actor, datastore: Datastore, folder: str, chosen: list[str] | None = None) -> Job:
    """Queue a zip of a folder, or of the files `chosen` in it (clean paths, from
    datastores.selectors.chosen_files), for the Jobs tab to offer once it is built (the view got
    the datastore through access.py: a reader)."""
    folder = clean_path(folder)
    with transaction.atomic():
        job = Job.objects.create(
            workspace=datastore.workspace,
            kind=JobKind.ZIP,
            started_by=actor.user,
            source=datastore,
            source_path=folder,
            source_is_folder=chosen is None,
            result_filename=zip_name(datastore, folder, selection=chosen is not None),
        )
        if chosen is not None:
            JobItem.objects.bulk_create([JobItem(job=job, path=path) for path in chosen], batch_size=500)
            Job.objects.filter(pk=job.pk).update(items_total=len(chosen))
        _enqueue(job)
    return job


def health_start(*, workspace: Workspace, actor: Actor | None = None) -> Job:
    """Queue a re-test of every datastore of the workspace; refused while one is queued or running."""
    with transaction.atomic():
        Workspace.objects.select_for_update().filter(pk=workspace.pk).first()  # one at a time per workspace
        if Job.objects.filter(workspace=workspace, kind=JobKind.HEALTH, state__in=ACTIVE_STATES).exists():
            raise JobRefused("A test of every datastore is already queued or running in this workspace.")
        job = Job.objects.create(workspace=workspace, kind=JobKind.HEALTH, started_by=actor.user if actor else None)
        _enqueue(job)
    return job


def job_cancel(*, actor: Actor, job: Job, can: access.Permissions) -> Job:
    """A queued job ends now; a running one stops before its next item."""
    if not selectors.may_cancel(actor, job, can):
        if not job.is_active:
            raise JobRefused("This job has already ended.")
        raise access.RoleRequired(job.workspace, Need.MANAGE, can.role)
    now = timezone.now()
    Job.objects.filter(pk=job.pk, state=JobState.QUEUED).update(
        state=JobState.CANCELLED, cancel_requested=True, finished_at=now, message="Cancelled before it started."
    )
    Job.objects.filter(pk=job.pk, state=JobState.RUNNING).update(cancel_requested=True)
    job.refresh_from_db()
    return job


# --- housekeeping (run by every worker, see housekeeping.py) ----------------------------------


def reap_stale() -> list[int]:
    """Queue again the jobs whose worker stopped answering: running with a stale heartbeat, or
    queued while their task was taken by a worker that died before starting it. Each is taken by
    one reaper only (a conditional update), and gets a new attempt; it resumes where it stopped."""
    stale_before = timezone.now() - timedelta(seconds=settings.JOB_STALE_SECONDS)
    picked: list[int] = []
    for job in Job.objects.filter(state__in=ACTIVE_STATES, heartbeat_at__lt=stale_before):
        task_status = DBTaskResult.objects.filter(id=job.task_result_id).values_list("status", flat=True).first()
        if job.state == JobState.QUEUED and task_status == TaskResultStatus.READY:
            continue  # still waiting for a free worker
        if job.attempt >= MAX_ATTEMPTS:  # something kills its worker each time: stop trying
            Job.objects.filter(pk=job.pk, attempt=job.attempt, state=job.state).update(
                state=JobState.FAILED,
                finished_at=timezone.now(),
                message=f"Its worker stopped answering {job.attempt} times, so it was not picked up again. "
                "The workers' logs say why; start it again once that is fixed.",
            )
            job.refresh_from_db()
            results.given_up(job)
            continue
        with transaction.atomic():
            taken = Job.objects.filter(pk=job.pk, attempt=job.attempt, state=job.state).update(
                state=JobState.QUEUED, attempt=F("attempt") + 1, heartbeat_at=timezone.now()
            )
            if not taken:
                continue
            DBTaskResult.objects.filter(id=job.task_result_id, status=TaskResultStatus.RUNNING).update(
                status=TaskResultStatus.FAILED, finished_at=timezone.now()
            )
            job.refresh_from_db()
            _enqueue(job)
        logger.warning("Job %s lost its worker; queued again as attempt %s.", job.pk, job.attempt)
        picked.append(job.pk)
    return picked


def schedule_health(now: datetime | None = None) -> list[int]:
    """With HEALTH_CHECK_INTERVAL_MINUTES set: a health job for each workspace whose last one is
    older than the interval."""
    minutes = settings.HEALTH_CHECK_INTERVAL_MINUTES
    if not minutes:
        return []
    due_before = (now or timezone.now()) - timedelta(minutes=minutes)
    started = []
    recent = Job.objects.filter(kind=JobKind.HEALTH).filter(Q(created_at__gte=due_before) | Q(state__in=ACTIVE_STATES))
    for workspace in Workspace.objects.exclude(pk__in=recent.values("workspace_id")):
        try:
            started.append(health_start(workspace=workspace).pk)
        except JobRefused:
            pass  # another worker queued it meanwhile
    return started
