"""What jobs leave for download (a folder's zip), kept in Django's default storage under
JOB_RESULTS_DIR: locally a folder under var/, with several machines storage they all share.

A result is written under a name of its attempt's own (`….part`) and given its final name only
once whole, so no half-built file is ever offered; the names come from the job's number, never
from what a user typed. Each is deleted JOB_RESULT_HOURS after it was made (housekeeping)."""

from __future__ import annotations

import logging
import os
from datetime import datetime, timedelta

from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.utils import timezone

from .models import Job, JobKind, JobState

logger = logging.getLogger(__name__)


def partial_name(job: Job, attempt: int) -> str:
    return f"{settings.JOB_RESULTS_DIR}/job-{job.pk}-{attempt}.zip.part"


def final_name(job: Job, attempt: int) -> str:
    return f"{settings.JOB_RESULTS_DIR}/job-{job.pk}-{attempt}.zip"


def discard_partials(job: Job, *, up_to: int) -> None:
    """Delete what attempts 1..up_to left half-written (a worker killed mid-zip leaves its file)."""
    for attempt in range(1, up_to + 1):
        default_storage.delete(partial_name(job, attempt))


def publish(partial: str, final: str) -> str:
    """Give a whole result its final name: a rename where the storage has local paths, else a
    copy (the partial is deleted either way). Returns the name it was stored under."""
    try:
        source, target = default_storage.path(partial), default_storage.path(final)
    except NotImplementedError:  # object storage: no rename
        with default_storage.open(partial, "rb") as whole:
            saved = default_storage.save(final, File(whole, name=final))
        default_storage.delete(partial)
        return saved
    os.replace(source, target)
    return final


def expire_results() -> list[int]:
    """Delete the results older than JOB_RESULT_HOURS; their rows then say "expired"."""
    expired = []
    for job in Job.objects.filter(kind=JobKind.ZIP, result_expired=False, result_expires_at__lt=timezone.now()):
        if job.result_name:
            default_storage.delete(job.result_name)
        Job.objects.filter(pk=job.pk).update(result_expired=True)
        logger.info("The zip of job %s expired and was deleted.", job.pk)
        expired.append(job.pk)
    return expired


def expires_at() -> datetime:
    return timezone.now() + timedelta(hours=settings.JOB_RESULT_HOURS)


def given_up(job: Job) -> None:
    """A zip job that will not run again: what its attempts left half-written goes."""
    if job.kind == JobKind.ZIP and job.state not in (JobState.QUEUED, JobState.RUNNING):
        discard_partials(job, up_to=job.attempt)
