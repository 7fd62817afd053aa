"""Running one attempt of a job inside a task worker: claim it, keep its heartbeat, let its work
check for a cancel between items, and record how it ended.

Only the attempt that claimed a job writes to it: every write is conditional on the attempt, so
a worker that was presumed dead (and whose job was picked up again) stops at its next check.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import close_old_connections, connection, transaction
from django.db.models import F
from django.db.models.functions import Coalesce
from django.http import Http404
from django.utils import timezone

from datastores.access import Actor
from datastores.storage import StorageError

from .models import Job, JobState

logger = logging.getLogger(__name__)


class Stopped(Exception):
    """The job was cancelled, or another attempt owns it now: stop between two items."""

    def __init__(self, state: str, message: str):
        super().__init__(message)
        self.state, self.message = state, message


@dataclass
class Run:
    """The attempt in progress, as the job's work sees it."""

    job: Job
    attempt: int
    actor: Actor
    _last_check: float = field(default=0.0)

    def check(self) -> None:
        """Between items: stop if the job was cancelled or picked up by another attempt."""
        self._last_check = time.monotonic()
        current = Job.objects.filter(pk=self.job.pk).values("attempt", "state", "cancel_requested").first()
        if current is None or current["attempt"] != self.attempt or current["state"] != JobState.RUNNING:
            raise Stopped("", "Another worker took this job over.")
        if current["cancel_requested"]:
            raise Stopped(JobState.CANCELLED, "Cancelled.")

    def check_now_and_then(self, seconds: float = 2.0) -> None:
        """Within a long item (a big file streaming): check at most every few seconds."""
        if time.monotonic() - self._last_check >= seconds:
            self.check()

    def add(self, **counts: int) -> None:
        """Add to the job's counters (items_done=1, bytes_done=n, ...)."""
        if counts:
            Job.objects.filter(pk=self.job.pk, attempt=self.attempt).update(
                **{name: F(name) + value for name, value in counts.items()}
            )

    def save(self, **values: object) -> None:
        Job.objects.filter(pk=self.job.pk, attempt=self.attempt).update(**values)


def _heartbeat(job_id: int, attempt: int, stop: threading.Event) -> None:
    try:
        while not stop.wait(settings.JOB_HEARTBEAT_SECONDS):
            Job.objects.filter(pk=job_id, attempt=attempt, state=JobState.RUNNING).update(heartbeat_at=timezone.now())
    except Exception:  # the next pick-up decides; the job itself goes on
        logger.exception("The heartbeat of job %s stopped.", job_id)
    finally:
        connection.close()


def run_attempt(job_id: int, attempt: int, work: Callable[[Run], str]) -> str:
    """Claim attempt `attempt` of the job and run `work`, which returns the closing message."""
    now = timezone.now()
    claimed = Job.objects.filter(pk=job_id, attempt=attempt, state=JobState.QUEUED).update(
        state=JobState.RUNNING, started_at=Coalesce(F("started_at"), now), heartbeat_at=now
    )
    if not claimed:
        return "not claimed: cancelled, finished, or picked up by another attempt"
    job = Job.objects.select_related("workspace", "started_by", "source", "target").get(pk=job_id)
    run = Run(job=job, attempt=attempt, actor=Actor(user=job.started_by, request_id=f"job-{job.pk}-{attempt}"))
    stop = threading.Event()
    beating = threading.Thread(target=_heartbeat, args=(job_id, attempt, stop), daemon=True)
    beating.start()
    state: str = JobState.DONE
    message = ""
    try:
        run.check()
        message = work(run)
    except Stopped as stopped:
        state, message = stopped.state, stopped.message
    except StorageError as failure:
        state, message = JobState.FAILED, failure.message
    except PermissionDenied as refused:  # the starter's role changed since
        state, message = JobState.FAILED, str(refused)
    except Http404:
        state, message = JobState.FAILED, "A datastore of this job is gone, or no longer shared with its starter."
    except Exception:
        logger.exception("Job %s failed.", job_id)
        state, message = JobState.FAILED, "An unexpected error stopped the job; the worker's log has the details."
    finally:
        stop.set()
        beating.join()
    if state:  # "" when another attempt owns it: leave it alone
        with transaction.atomic():
            Job.objects.filter(pk=job_id, attempt=attempt).exclude(state__in=[JobState.DONE]).update(
                state=state, message=message, finished_at=timezone.now(), heartbeat_at=timezone.now()
            )
    close_old_connections()
    return f"{state or 'left'}: {message}"
