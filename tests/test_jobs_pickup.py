"""The pick-up of jobs whose worker died (jobs/services.reap_stale, which every worker runs), and
the guards of the Jobs tab: a job of another workspace is not there to cancel."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from .copies import latest_job, start_copy

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def queued_copy(client, workspace):
    blobstore = workspace.datastores.get(name="workspaceblobstore")
    assert start_copy(client, blobstore, "data", blobstore, "elsewhere").status_code == 302
    return latest_job()


def as_if_its_worker_died(job, *, attempt=1):
    """What a worker killed mid-job leaves: the job running, its task running, no heartbeat since."""
    from django_tasks_db.models import DBTaskResult

    from jobs.models import Job

    DBTaskResult.objects.filter(id=job.task_result_id).update(status="RUNNING")
    Job.objects.filter(pk=job.pk).update(
        state="running", attempt=attempt, heartbeat_at=timezone.now() - timedelta(minutes=5)
    )


def test_a_job_whose_worker_died_is_queued_again_once_with_a_new_task(queued_copy):
    from django_tasks_db.models import DBTaskResult

    from jobs.services import reap_stale

    old_task = queued_copy.task_result_id
    assert reap_stale() == []  # queued, its task waiting for a worker: nothing to pick up
    as_if_its_worker_died(queued_copy)
    assert reap_stale() == [queued_copy.pk]
    assert reap_stale() == []  # the second reaper finds nothing left
    queued_copy.refresh_from_db()
    assert (queued_copy.state, queued_copy.attempt) == ("queued", 2)
    assert queued_copy.task_result_id != old_task
    assert DBTaskResult.objects.get(id=old_task).status == "FAILED"
    assert DBTaskResult.objects.get(id=queued_copy.task_result_id).status == "READY"


def test_a_job_that_keeps_losing_its_worker_fails_instead_of_looping(queued_copy):
    from jobs.services import MAX_ATTEMPTS, reap_stale

    as_if_its_worker_died(queued_copy, attempt=MAX_ATTEMPTS)
    assert reap_stale() == []
    queued_copy.refresh_from_db()
    assert queued_copy.state == "failed"
    assert f"stopped answering {MAX_ATTEMPTS} times" in queued_copy.message


def test_a_job_of_another_workspace_is_not_found_from_this_one(client, queued_copy, user):
    from datastores.access import Actor
    from datastores.services import workspace_create

    other = workspace_create(actor=Actor(user=user), name="other-ws")
    assert client.post(reverse("job_cancel", args=[other.name, queued_copy.pk])).status_code == 404
    assert "No job yet." in client.get(reverse("job_list", args=[other.name])).content.decode()
    queued_copy.refresh_from_db()
    assert queued_copy.state == "queued"


def test_an_outsider_sees_no_jobs_page(client, queued_copy, django_user_model):
    client.force_login(django_user_model.objects.create_user(username="otto"))
    assert client.get(reverse("job_list", args=[queued_copy.workspace.name])).status_code == 404
    assert client.post(reverse("job_cancel", args=[queued_copy.workspace.name, queued_copy.pk])).status_code == 404
