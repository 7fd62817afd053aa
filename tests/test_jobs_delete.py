"""A folder with more files than JOB_FOLDER_DELETE_THRESHOLD is deleted by a background job, run
by a real `manage.py db_worker` subprocess, on Azurite."""

from __future__ import annotations

import pytest
from django.urls import reverse

from .copies import finished, latest_job
from .support import url
from .workers import task_workers, wait_for

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def big_folder(workspace, blob_service):
    datastore = workspace.datastores.get(name="workspaceblobstore")
    container = blob_service.get_container_client(datastore.connection_settings["container_name"])
    for n in range(30):
        container.upload_blob(f"old/logs/{n:03d}.log", b"line\n" * n)
    container.upload_blob("old-but-kept.txt", b"stays")
    container.upload_blob("keep/me.txt", b"stays")
    return datastore, container


def test_a_big_folder_is_deleted_in_the_background(client, big_folder, settings, tmp_path):
    datastore, container = big_folder
    settings.JOB_FOLDER_DELETE_THRESHOLD = 10
    page = client.get(url(datastore, "datastore_delete_folder") + "?path=old").content.decode()
    assert "Delete 30 files in the background</button>" in page
    assert f'action="{url(datastore, "datastore_delete_folder_job")}"' in page
    response = client.post(url(datastore, "datastore_delete_folder_job"), {"path": "old"})
    assert response.status_code == 302 and response.url == reverse("job_list", args=[datastore.workspace.name])
    with task_workers(tmp_path):
        job = wait_for(lambda: finished(latest_job().pk))
    assert job.state == "done" and job.message == "Deleted the folder old and its 30 files."
    assert sorted(blob.name for blob in container.list_blobs()) == ["keep/me.txt", "old-but-kept.txt"]


def test_a_small_folder_is_still_deleted_at_once(client, big_folder, settings):
    datastore, _container = big_folder
    settings.JOB_FOLDER_DELETE_THRESHOLD = 1000
    page = client.get(url(datastore, "datastore_delete_folder") + "?path=old").content.decode()
    assert "Delete 30 files</button>" in page and "delete-folder-job" not in page


def test_a_reader_cannot_start_a_folder_delete(client, big_folder, django_user_model, workspace, user):
    from datastores.access import Actor
    from datastores.models import Role
    from datastores.services import member_add

    datastore, _container = big_folder
    reader = django_user_model.objects.create_user(username="rita")
    member_add(actor=Actor(user=user), workspace=workspace, who="rita", role=Role.READER)
    client.force_login(reader)
    assert client.post(url(datastore, "datastore_delete_folder_job"), {"path": "old"}).status_code == 403
    assert latest_job() is None


def test_the_root_folder_is_never_deleted(client, big_folder):
    datastore, _container = big_folder
    response = client.post(url(datastore, "datastore_delete_folder_job"), {"path": "/"})
    assert response.status_code == 400
    assert "The datastore&#x27;s root folder cannot be deleted." in response.content.decode()
    assert latest_job() is None
