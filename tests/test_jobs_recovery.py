"""Jobs survive their worker: a worker killed with SIGKILL in the middle of a folder copy leaves
the job to another worker, which finishes it with every file there exactly once, with the right
bytes, and nothing half-written in between. Cancelling stops a job between files. Real
`manage.py db_worker` subprocesses, Azurite, and the Azure Files stand-in (no emulator exists)."""

from __future__ import annotations

import os
import uuid

import pytest
from django.urls import reverse

from .copies import blob_datastore, blobs_of, finished, job_now, latest_job, share_datastore, share_files, start_copy
from .workers import Worker, task_workers, wait_for

pytestmark = pytest.mark.django_db(transaction=True)

MANY = 120


@pytest.fixture
def many_files(workspace, blob_service):
    """workspaceblobstore with MANY small files under batch/, with distinct bytes each."""
    datastore = workspace.datastores.get(name="workspaceblobstore")
    container = blob_service.get_container_client(datastore.connection_settings["container_name"])
    files = {f"batch/part-{n:04d}.bin": os.urandom(2048 + n) for n in range(MANY)}
    for path, data in files.items():
        container.upload_blob(path, data)
    return datastore, files


def test_a_copy_killed_with_its_worker_is_finished_by_another_with_every_file_once(
    client, many_files, workspace, fileshare_standin, share_name, tmp_path
):
    source, files = many_files
    share = share_datastore(workspace, "share", fileshare_standin, share_name)
    assert start_copy(client, source, "batch", share, "restored").status_code == 302
    job = latest_job()
    with task_workers(tmp_path) as workers:
        wait_for(lambda: 10 <= job_now(job.pk).items_done < MANY - 20, seconds=120, what="a third of the copy")
        workers[0].kill()
        killed_at = job_now(job.pk)
        assert killed_at.state == "running" and killed_at.items_done < MANY
        # Nothing half-written: every file visible is whole.
        for path, data in share_files(share).items():
            assert data == files["batch/" + path.removeprefix("restored/batch/")], path
        workers.append(Worker(tmp_path / "worker-again.log").start())
        job = wait_for(lambda: finished(job.pk), seconds=180, what="the copy's end after the kill")
    assert job.state == "done", job.message
    assert job.attempt >= 2
    assert (job.items_done, job.items_skipped, job.items_total) == (MANY, 0, MANY)
    assert share_files(share) == {f"restored/{path}": data for path, data in files.items()}
    page = client.get(reverse("job_list", args=[workspace.name])).content.decode()
    assert "picked up again" in page


def test_a_blob_copy_killed_midway_is_finished_by_another_worker(
    client, many_files, workspace, blob_service, azurite_endpoint, tmp_path
):
    source, files = many_files
    container = f"again-{uuid.uuid4().hex[:10]}"
    blob_service.create_container(container)
    target = blob_datastore(workspace, "again", container, azurite_endpoint)
    assert start_copy(client, source, "batch", target, "").status_code == 302
    job = latest_job()
    with task_workers(tmp_path) as workers:
        wait_for(lambda: 5 <= job_now(job.pk).items_done < MANY - 20, seconds=120, what="part of the copy")
        workers[0].kill()
        workers.append(Worker(tmp_path / "worker-again.log").start())
        job = wait_for(lambda: finished(job.pk), seconds=180, what="the copy's end after the kill")
    assert (job.state, job.items_done, job.items_skipped) == ("done", MANY, 0), job.message
    assert blobs_of(blob_service, target) == files


def test_a_cancelled_copy_stops_between_files_and_says_so(
    client, many_files, workspace, fileshare_standin, share_name, tmp_path
):
    source, files = many_files
    share = share_datastore(workspace, "share", fileshare_standin, share_name)
    assert start_copy(client, source, "batch", share, "").status_code == 302
    job = latest_job()
    with task_workers(tmp_path):
        wait_for(lambda: job_now(job.pk).items_done >= 3, seconds=120, what="the copy's start")
        response = client.post(reverse("job_cancel", args=[workspace.name, job.pk]))
        assert response.status_code == 302
        job = wait_for(lambda: finished(job.pk), what="the cancel")
    assert job.state == "cancelled" and job.message == "Cancelled."
    assert job.items_done < MANY
    stored = share_files(share)
    assert len(stored) == job.items_done  # what was copied stays, whole; nothing else
    assert all(data == files[path] for path, data in stored.items())
    page = client.get(reverse("job_list", args=[workspace.name])).content.decode()
    assert "Cancelled" in page and "Cancel job" not in page


def test_a_queued_job_cancels_at_once_and_the_page_polls_only_while_jobs_run(client, many_files, workspace, tmp_path):
    source, _files = many_files
    target = workspace.datastores.get(name="workspaceblobstore")
    assert start_copy(client, source, "batch", target, "elsewhere").status_code == 302
    job = latest_job()
    page = client.get(reverse("job_list", args=[workspace.name])).content.decode()
    assert "Queued" in page and "Waiting for a worker" in page and 'hx-trigger="every 2s"' in page
    client.post(reverse("job_cancel", args=[workspace.name, job.pk]))
    assert job_now(job.pk).state == "cancelled"
    page = client.get(reverse("job_list", args=[workspace.name])).content.decode()
    assert "Cancelled before it started." in page and 'hx-trigger="every 2s"' not in page
    with task_workers(tmp_path):  # a worker takes the task and leaves the cancelled job alone
        wait_for(lambda: not _ready_tasks(), what="the worker taking the task")
    assert job_now(job.pk).state == "cancelled" and job_now(job.pk).items_done == 0


def _ready_tasks():
    from django_tasks_db.models import DBTaskResult

    return DBTaskResult.objects.filter(status="READY").exists()


def test_only_the_starter_or_an_owner_may_cancel(client, many_files, workspace, django_user_model, user):
    from datastores.access import Actor
    from datastores.models import Role
    from datastores.services import member_add

    source, _files = many_files
    assert start_copy(client, source, "batch", source, "elsewhere").status_code == 302
    job = latest_job()
    carl = django_user_model.objects.create_user(username="carl")
    member_add(actor=Actor(user=user), workspace=workspace, who="carl", role=Role.CONTRIBUTOR)
    client.force_login(carl)
    page = client.get(reverse("job_list", args=[workspace.name])).content.decode()
    assert "Cancel job" not in page
    response = client.post(reverse("job_cancel", args=[workspace.name, job.pk]))
    assert response.status_code == 403
    assert job_now(job.pk).state == "queued"
