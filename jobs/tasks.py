"""The tasks the workers run (Django's tasks framework, django-tasks-db backend). One task runs
one attempt of a job; what survives a worker is the Job row, not the task."""

from __future__ import annotations

from collections.abc import Callable

from django.tasks import task

from .models import JobKind
from .runner import Run, run_attempt


def _work(kind: str) -> Callable[[Run], str]:
    from .copying import copy_work
    from .deleting import delete_work
    from .health import health_work
    from .zipping import zip_work

    return {
        JobKind.COPY: copy_work,
        JobKind.HEALTH: health_work,
        JobKind.DELETE: delete_work,
        JobKind.ZIP: zip_work,
    }[JobKind(kind)]


@task()
def run_job(job_id: int, attempt: int, kind: str) -> str:
    return run_attempt(job_id, attempt, _work(kind))
