""" "Test all" on the datastore list: a job, run by a real `manage.py db_worker` subprocess, that
re-tests every datastore and feeds the health badges; and the schedule that queues it."""

from __future__ import annotations

import pytest
from django.urls import reverse

from .copies import finished, latest_job
from .workers import task_workers, wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def test_test_all_re_tests_every_datastore_in_the_background(client, workspace, tmp_path):
    listing = client.get(reverse("datastore_list", args=[workspace.name])).content.decode()
    assert ">Test all</button>" in listing
    response = client.post(reverse("datastores_test_all", args=[workspace.name]))
    assert response.status_code == 302 and response.url == reverse("job_list", args=[workspace.name])
    again = client.post(reverse("datastores_test_all", args=[workspace.name]), follow=True).content.decode()
    assert "A test of every datastore is already queued or running in this workspace." in again
    with task_workers(tmp_path):
        job = wait_for(lambda: finished(latest_job().pk))
    assert job.state == "done" and job.items_total == workspace.datastores.count() == 2
    blobstore = workspace.datastores.get(name="workspaceblobstore")
    assert blobstore.last_check_ok is True and blobstore.last_checked_at >= job.created_at
    # workspacefilestore on the local Azurite (which has no File service) cannot pass.
    assert job.message == "Tested 2 datastores: 1 passed, 1 failed (workspacefilestore)."
    listing = client.get(reverse("datastore_list", args=[workspace.name])).content.decode()
    assert listing.count('class="health health-ok"') == 1 and listing.count('class="health health-failed"') == 1


def test_a_reader_cannot_start_test_all(client, workspace, django_user_model, user):
    from datastores.access import Actor
    from datastores.models import Role
    from datastores.services import member_add

    reader = django_user_model.objects.create_user(username="rita")
    member_add(actor=Actor(user=user), workspace=workspace, who="rita", role=Role.READER)
    client.force_login(reader)
    assert ">Test all</button>" not in client.get(reverse("datastore_list", args=[workspace.name])).content.decode()
    assert client.post(reverse("datastores_test_all", args=[workspace.name])).status_code == 403
    assert latest_job() is None


def test_the_schedule_queues_one_health_job_per_workspace_when_due(workspace, settings):
    from jobs.services import schedule_health

    settings.HEALTH_CHECK_INTERVAL_MINUTES = 0
    assert schedule_health() == []
    settings.HEALTH_CHECK_INTERVAL_MINUTES = 60
    first = schedule_health()
    assert len(first) == 1 and latest_job().started_by is None
    assert schedule_health() == []  # one is queued (and then recent): not again
