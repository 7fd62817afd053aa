"""Copy between datastores, as a background job run by a real `manage.py db_worker` subprocess:
Blob to Blob on Azurite (the service copies), Blob to the Azure Files stand-in (streamed
through the worker), skipped files named, refusals on the field at fault."""

from __future__ import annotations

import uuid

import pytest
from django.urls import reverse

from datastores.access import Actor
from datastores.models import Role
from datastores.services import member_add

from .copies import blob_datastore, blobs_of, finished, latest_job, share_datastore, start_copy
from .support import url
from .workers import task_workers, wait_for

pytestmark = pytest.mark.django_db(transaction=True)

FILES = {"data/a.txt": b"alpha\n", "data/sub/b.bin": bytes(range(256)) * 40, "data/sub/deeper/c.csv": b"x,y\n1,2\n"}


@pytest.fixture
def source(workspace, blob_service):
    """workspaceblobstore, holding FILES."""
    datastore = workspace.datastores.get(name="workspaceblobstore")
    container = blob_service.get_container_client(datastore.connection_settings["container_name"])
    for path, data in FILES.items():
        container.upload_blob(path, data)
    return datastore


@pytest.fixture
def backup(workspace, blob_service, azurite_endpoint):
    container = f"backup-{uuid.uuid4().hex[:10]}"
    blob_service.create_container(container)
    return blob_datastore(workspace, "backup", container, azurite_endpoint)


def test_a_folder_copies_blob_to_blob_by_the_storage_service_itself(client, source, backup, blob_service, tmp_path):
    response = start_copy(client, source, "data", backup, "archive")
    assert response.status_code == 302 and response.url == reverse("job_list", args=[source.workspace.name])
    job = latest_job()
    assert job.state == "queued"
    with task_workers(tmp_path):
        job = wait_for(lambda: finished(job.pk))
    assert job.state == "done", job.message
    assert blobs_of(blob_service, backup) == {f"archive/{path}": data for path, data in FILES.items()}
    # No byte went through the worker: the blobs are Azurite's own copies of the source blobs.
    assert job.bytes_streamed == 0 and job.bytes_done == sum(map(len, FILES.values()))
    copied = blob_service.get_blob_client(backup.connection_settings["container_name"], "archive/data/a.txt")
    properties = copied.get_blob_properties()
    assert properties.copy.status == "success"
    assert "/data/a.txt" in properties.copy.source
    assert job.message == "Copied 3 files to backup:archive by the storage service."
    page = client.get(reverse("job_list", args=[source.workspace.name])).content.decode()
    assert "Copied 3 files to backup:archive" in page and "Done" in page


def test_a_folder_streams_from_blob_to_file_share_through_the_worker(
    client, source, workspace, fileshare_standin, share_name, tmp_path
):
    """The File Share is the Azure Files stand-in (no emulator exists)."""
    share = share_datastore(workspace, "share", fileshare_standin, share_name)
    assert start_copy(client, source, "data/sub", share, "copied").status_code == 302
    with task_workers(tmp_path):
        job = wait_for(lambda: finished(latest_job().pk))
    assert job.state == "done", job.message
    wanted = {
        f"copied/{path.removeprefix('data/')}": data for path, data in FILES.items() if path.startswith("data/sub")
    }
    assert job.bytes_streamed == sum(map(len, wanted.values())) == job.bytes_done
    backend = share.backend
    stored = {
        entry.path: b"".join(backend.download(share.connection(), entry.path).chunks)
        for entry in backend.walk_files(share.connection(), "")
    }
    assert stored == wanted


def test_one_file_copies_into_the_target_folder(client, source, backup, blob_service, tmp_path):
    assert start_copy(client, source, "data/a.txt", backup, "", folder=False).status_code == 302
    with task_workers(tmp_path):
        job = wait_for(lambda: finished(latest_job().pk))
    assert job.state == "done" and job.items_total == 1
    assert blobs_of(blob_service, backup) == {"a.txt": b"alpha\n"}


def test_files_already_there_are_skipped_named_and_kept(client, source, backup, blob_service, tmp_path):
    container = blob_service.get_container_client(backup.connection_settings["container_name"])
    container.upload_blob("archive/data/a.txt", b"older")
    assert start_copy(client, source, "data", backup, "archive").status_code == 302
    with task_workers(tmp_path):
        job = wait_for(lambda: finished(latest_job().pk))
    assert job.state == "done"
    assert (job.items_done, job.items_skipped) == (2, 1)
    assert "Skipped 1 file already there (overwrite was off): archive/data/a.txt." in job.message
    assert container.download_blob("archive/data/a.txt").readall() == b"older"
    page = client.get(reverse("job_list", args=[source.workspace.name])).content.decode()
    assert "Skipped files (1)" in page and "data/a.txt" in page


def test_overwrite_replaces_what_is_there(client, source, backup, blob_service, tmp_path):
    container = blob_service.get_container_client(backup.connection_settings["container_name"])
    container.upload_blob("archive/data/a.txt", b"older")
    assert start_copy(client, source, "data", backup, "archive", overwrite=True).status_code == 302
    with task_workers(tmp_path):
        job = wait_for(lambda: finished(latest_job().pk))
    assert (job.state, job.items_done, job.items_skipped) == ("done", 3, 0)
    assert container.download_blob("archive/data/a.txt").readall() == b"alpha\n"


def test_a_bad_target_path_is_refused_on_its_field_and_queues_nothing(client, source, backup):
    response = start_copy(client, source, "data", backup, "../outside")
    assert response.status_code == 400
    page = response.content.decode()
    assert "A path cannot contain empty, &#x27;.&#x27; or &#x27;..&#x27; folders." in page
    assert 'id="field-target_path"' in page and "field-invalid" in page.split('id="field-target_path"')[0][-80:]
    assert latest_job() is None


def test_a_folder_is_not_copied_into_itself(client, source):
    response = start_copy(client, source, "data", source, "data/sub")
    assert response.status_code == 400
    assert "That copies onto itself" in response.content.decode()
    assert latest_job() is None


def test_a_reader_may_not_copy_into_a_datastore_of_their_workspace(
    client, source, backup, django_user_model, workspace, user
):
    reader = django_user_model.objects.create_user(username="rita")
    member_add(actor=Actor(user=user), workspace=workspace, who="rita", role=Role.READER)
    client.force_login(reader)
    page = client.get(url(source, "datastore_copy") + "?path=data&folder=1").content.decode()
    assert "There is no file datastore you may write to." in page
    response = start_copy(client, source, "data", backup, "archive")
    assert response.status_code == 400
    assert (
        f"This needs the Contributor role in workspace {workspace.name}; you are a reader." in response.content.decode()
    )
    assert latest_job() is None


def test_a_target_in_a_workspace_one_cannot_see_reads_as_missing(
    client, source, django_user_model, azurite_endpoint, blob_service
):
    from datastores.services import workspace_create

    stranger = django_user_model.objects.create_user(username="otto")
    elsewhere = workspace_create(actor=Actor(user=stranger), name=f"ws-{uuid.uuid4().hex[:8]}")
    target = elsewhere.datastores.get(name="workspaceblobstore")
    response = start_copy(client, source, "data", target, "")
    assert response.status_code == 400
    assert "Choose a datastore you may write to." in response.content.decode()
    assert latest_job() is None
