"""A folder zip (or a selection zip) above JOB_ZIP_FILE_THRESHOLD files or JOB_ZIP_BYTES_THRESHOLD
bytes is built by a background job into a result file, offered on the Jobs tab: real
`manage.py db_worker` subprocesses, Azurite, the results in a folder of the test's own
(MEDIA_ROOT, shared by the test and its workers as shared storage would be). Also: a copy to
Azure Files (the File Share stand-in, no emulator exists) cut off by a killed worker leaves no
hidden staging file behind once it is finished."""

from __future__ import annotations

import io
import os
import uuid
import zipfile
from datetime import timedelta
from pathlib import Path

import pytest
from azure.core.exceptions import ResourceNotFoundError
from azure.storage.fileshare import ShareClient
from django.urls import reverse

from .breaking_proxy import BreakingProxy
from .copies import blob_datastore, finished, job_now, latest_job, share_datastore, share_files, start_copy
from .support import sqlite_pass_only, url
from .workers import Worker, task_workers, wait_for

pytestmark = pytest.mark.django_db(transaction=True)

MANY = 20
SCREENSHOTS = Path(__file__).resolve().parent.parent / "test-results" / "screenshots"


@pytest.fixture
def results(settings, tmp_path):
    """Where the test and its workers keep the jobs' results (the default storage's folder)."""
    media = tmp_path / "media"
    settings.MEDIA_ROOT = str(media)
    return media


def result_files(media) -> list[str]:
    folder = media / "job-results"
    return sorted(os.listdir(folder)) if folder.exists() else []


def workers_for(tmp_path, media):
    return task_workers(tmp_path, MEDIA_ROOT=str(media))


@pytest.fixture
def folder(workspace, blob_service):
    """workspaceblobstore with 30 files under docs/ (and one beside it that no zip of docs holds)."""
    datastore = workspace.datastores.get(name="workspaceblobstore")
    container = blob_service.get_container_client(datastore.connection_settings["container_name"])
    files = {f"docs/{'deep/' if n % 3 else ''}{n:03d}.txt": os.urandom(100 + n) for n in range(30)}
    for path, data in files.items():
        container.upload_blob(path, data)
    container.upload_blob("docs-not-in-it.txt", b"outside")
    return datastore, files


@pytest.fixture
def held(workspace, blob_service, azurite_endpoint):
    """A datastore of MANY files under batch/, reached through a proxy that holds the download of
    the one big file among them midway (until released): a zip of it is caught midway, every time."""
    container = f"held-{uuid.uuid4().hex[:10]}"
    blob_service.create_container(container)
    files = {
        f"batch/part-{n:04d}.bin": os.urandom((3 * 1024 if n == MANY // 2 else 64) * 1024 + n) for n in range(MANY)
    }
    for path, data in files.items():
        blob_service.get_container_client(container).upload_blob(path, data)
    proxy = BreakingProxy(int(azurite_endpoint.rsplit(":", 1)[1]), cut_after=1024 * 1024, hold=True)
    try:
        yield blob_datastore(workspace, "held", container, proxy.endpoint), files, proxy
    finally:
        proxy.close()


def unzipped(data: bytes) -> dict[str, bytes]:
    archive = zipfile.ZipFile(io.BytesIO(data))
    return {info.filename: archive.read(info) for info in archive.infolist()}


def download(client, job) -> bytes:
    response = client.get(reverse("job_result", args=[job.workspace.name, job.pk]))
    assert response.status_code == 200
    return b"".join(response.streaming_content)


def start_folder_zip(client, datastore, folder):
    """What a person does: Download folder as zip, then the page's button."""
    page = client.get(url(datastore, "datastore_folder_zip") + f"?path={folder}")
    assert page.status_code == 200 and "Build the zip in the background</button>" in page.content.decode()
    response = client.post(url(datastore, "datastore_zip_job"), {"folder": folder})
    assert response.status_code == 302 and response.url == reverse("job_list", args=[datastore.workspace.name])
    return latest_job()


def test_a_big_folder_is_zipped_in_the_background_with_what_storage_holds(
    client, folder, results, settings, tmp_path, workspace
):
    from datastores.models import AuditEntry

    datastore, files = folder
    settings.JOB_ZIP_FILE_THRESHOLD = 10
    page = client.get(url(datastore, "datastore_folder_zip") + "?path=docs").content.decode()
    assert "its zip is built in the background" in page
    assert f'href="{reverse("job_list", args=[workspace.name])}">Jobs</a>' in page
    job = start_folder_zip(client, datastore, "docs")
    assert job.kind == "zip" and job.state == "queued"
    with workers_for(tmp_path, results):
        job = wait_for(lambda: finished(job.pk))
    assert job.state == "done", job.message
    assert job.message == "Zipped 30 files of docs."
    assert (job.items_done, job.items_total, job.bytes_done) == (30, 30, sum(map(len, files.values())))
    jobs_page = client.get(reverse("job_list", args=[workspace.name])).content.decode()
    assert "Download zip</a>" in jobs_page and reverse("job_result", args=[workspace.name, job.pk]) in jobs_page
    response = client.get(reverse("job_result", args=[workspace.name, job.pk]))
    assert response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"] == 'attachment; filename="docs.zip"'
    assert unzipped(b"".join(response.streaming_content)) == {
        path.removeprefix("docs/"): data for path, data in files.items()
    }
    assert result_files(results) == [f"job-{job.pk}-1.zip"]  # one whole zip, nothing half-written
    audited = AuditEntry.objects.filter(action="files.zipped", datastore_name=datastore.name).get()
    assert audited.target == "docs" and audited.actor_name == "ada" and f"job {job.pk}" in audited.detail


def test_a_folder_over_the_size_threshold_is_zipped_in_the_background_too(client, folder, settings):
    datastore, _files = folder
    settings.JOB_ZIP_FILE_THRESHOLD, settings.JOB_ZIP_BYTES_THRESHOLD = 1000, 2000
    page = client.get(url(datastore, "datastore_folder_zip") + "?path=docs").content.decode()
    assert "Build the zip in the background</button>" in page and latest_job() is None


def test_a_small_folder_still_streams_as_before(client, folder, settings):
    datastore, files = folder
    settings.JOB_ZIP_FILE_THRESHOLD, settings.JOB_ZIP_BYTES_THRESHOLD = 1000, 1024**3
    response = client.get(url(datastore, "datastore_folder_zip") + "?path=docs")
    assert response["Content-Type"] == "application/zip" and response.streaming
    assert unzipped(b"".join(response.streaming_content)) == {
        path.removeprefix("docs/"): data for path, data in files.items()
    }
    assert latest_job() is None


def test_many_ticked_files_are_zipped_in_the_background_and_only_those(
    client, folder, results, settings, tmp_path, workspace
):
    datastore, files = folder
    settings.JOB_ZIP_FILE_THRESHOLD = 3
    ticked = sorted(files)[:5]
    page = client.post(url(datastore, "datastore_selection_zip"), {"path": ticked, "folder": "docs"}).content.decode()
    assert "So many files are zipped in the background" in page and latest_job() is None
    response = client.post(url(datastore, "datastore_zip_job"), {"folder": "docs", "selection": "1", "path": ticked})
    assert response.status_code == 302
    with workers_for(tmp_path, results):
        job = wait_for(lambda: finished(latest_job().pk))
    assert job.state == "done", job.message
    data = download(client, job)
    assert unzipped(data) == {path.removeprefix("docs/"): files[path] for path in ticked}
    from datastores.models import AuditEntry

    assert AuditEntry.objects.filter(action="files.selection_zipped", datastore_name=datastore.name).count() == 1


def test_a_cancelled_zip_stops_and_leaves_no_partial_file(client, held, results, settings, tmp_path, workspace):
    datastore, _files, proxy = held
    settings.JOB_ZIP_FILE_THRESHOLD = 10
    job = start_folder_zip(client, datastore, "batch")
    with workers_for(tmp_path, results):
        wait_for(lambda: proxy.cut_count and job_now(job.pk).items_done, seconds=120, what="the zip's start")
        assert result_files(results) == [f"job-{job.pk}-1.zip.part"]  # being written
        assert client.post(reverse("job_cancel", args=[workspace.name, job.pk])).status_code == 302
        proxy.release()
        job = wait_for(lambda: finished(job.pk), what="the cancel")
    assert job.state == "cancelled" and job.message == "Cancelled."
    assert job.items_done < MANY
    assert result_files(results) == []
    page = client.get(reverse("job_list", args=[workspace.name])).content.decode()
    assert "Cancelled" in page and "Download zip" not in page
    assert client.get(reverse("job_result", args=[workspace.name, job.pk])).status_code == 404


def test_a_zip_killed_with_its_worker_starts_over_and_ends_as_one_whole_zip(
    client, held, results, settings, tmp_path, workspace
):
    datastore, files, proxy = held
    settings.JOB_ZIP_FILE_THRESHOLD = 10
    job = start_folder_zip(client, datastore, "batch")
    with workers_for(tmp_path, results) as workers:
        wait_for(lambda: proxy.cut_count and job_now(job.pk).items_done, seconds=120, what="part of the zip")
        workers[0].kill()
        assert 0 < job_now(job.pk).items_done < MANY
        assert result_files(results) == [f"job-{job.pk}-1.zip.part"]  # what the killed worker left
        proxy.release()
        workers.append(Worker(tmp_path / "worker-again.log", MEDIA_ROOT=str(results)).start())
        job = wait_for(lambda: finished(job.pk), seconds=180, what="the zip's end after the kill")
    assert job.state == "done", job.message
    assert job.attempt >= 2 and "started over (a zip cannot resume)" in job.message
    assert job.items_done == MANY
    assert result_files(results) == [f"job-{job.pk}-{job.attempt}.zip"]
    assert unzipped(download(client, job)) == {path.removeprefix("batch/"): data for path, data in files.items()}


def test_a_zip_job_never_holds_a_name_that_escapes_its_folder(client, workspace, dbfs, results, settings, tmp_path):
    """DBFS stand-in: it stores any name, as a real service may (Azurite refuses some)."""
    from datastores import services
    from datastores.streams import SKIPPED_ENTRIES_NAME

    for name, data in {
        "data/ok.txt": b"fine",
        "data/..\\..\\evil.txt": b"escape",
        "data/C:/x.txt": b"drive",
        "data/sub/good.txt": b"also fine",
    }.items():
        dbfs.put(name, data)
    datastore = services.datastore_register(
        workspace=workspace, name="bricks", storage_type="DBFS", auth_type="none", values=dict(dbfs.connection().values)
    )
    settings.JOB_ZIP_FILE_THRESHOLD = 1
    job = start_folder_zip(client, datastore, "data")
    with workers_for(tmp_path, results):
        job = wait_for(lambda: finished(job.pk))
    assert job.state == "done", job.message
    archive = zipfile.ZipFile(io.BytesIO(download(client, job)))
    names = archive.namelist()
    assert sorted(names) == sorted(["ok.txt", "sub/good.txt", SKIPPED_ENTRIES_NAME])
    report = archive.read(SKIPPED_ENTRIES_NAME).decode()
    assert "could escape the folder" in report and "evil.txt" in report
    # The result's names come from the job's number, and the download's from the folder, not from input.
    assert result_files(results) == [f"job-{job.pk}-1.zip"] and job.result_filename == "data.zip"


def test_only_the_starter_or_a_reader_of_the_datastore_may_download_and_expiry_deletes_it(
    client, folder, results, settings, tmp_path, workspace, user, django_user_model
):
    from datastores.access import Actor
    from datastores.models import Role
    from datastores.services import member_add, workspace_create
    from jobs import housekeeping
    from jobs.models import Job

    datastore, _files = folder
    settings.JOB_ZIP_FILE_THRESHOLD = 10
    job = start_folder_zip(client, datastore, "docs")
    with workers_for(tmp_path, results):
        job = wait_for(lambda: finished(job.pk))
    assert job.state == "done", job.message
    result = reverse("job_result", args=[workspace.name, job.pk])

    # A reader of another workspace: neither through this workspace nor through theirs.
    other = workspace_create(actor=Actor(user=user), name=f"{workspace.name}-other")
    mallory = django_user_model.objects.create_user(username="mallory")
    member_add(actor=Actor(user=user), workspace=other, who="mallory", role=Role.READER)
    client.force_login(mallory)
    assert client.get(result).status_code == 404
    assert client.get(reverse("job_result", args=[other.name, job.pk])).status_code == 404
    assert "Download zip" not in client.get(reverse("job_list", args=[other.name])).content.decode()

    # A reader of this workspace may read the datastore, so may have its zip.
    member_add(actor=Actor(user=user), workspace=workspace, who="mallory", role=Role.READER)
    assert "Download zip" in client.get(reverse("job_list", args=[workspace.name])).content.decode()
    assert client.get(result).status_code == 200

    client.force_login(user)
    Job.objects.filter(pk=job.pk).update(result_expires_at=job.result_expires_at - timedelta(hours=25))
    assert client.get(result).status_code == 404  # past its time, before the housekeeping came by
    assert result_files(results) == [f"job-{job.pk}-1.zip"]
    housekeeping.sweep()
    assert result_files(results) == []
    page = client.get(reverse("job_list", args=[workspace.name])).content.decode()
    assert "Zip expired" in page and "Download zip" not in page
    assert client.get(result).status_code == 404


def test_a_copy_to_azure_files_killed_mid_file_leaves_no_staging_file(
    client, workspace, blob_service, azurite_endpoint, fileshare_standin, share_name, tmp_path
):
    """File Share stand-in (no emulator exists): the source's download is held midway by a proxy
    in front of Azurite, so the worker is killed between creating a file's hidden staging file
    and renaming it into place; the re-run of that file deletes it."""
    container = f"big-{uuid.uuid4().hex[:10]}"
    blob_service.create_container(container)
    files = {f"big/{n:02d}.bin": os.urandom(3 * 1024 * 1024 + n) for n in range(3)}
    for path, data in files.items():
        blob_service.get_container_client(container).upload_blob(path, data)
    proxy = BreakingProxy(int(azurite_endpoint.rsplit(":", 1)[1]), cut_after=1024 * 1024, hold=True)
    source = blob_datastore(workspace, "held", container, proxy.endpoint)
    share = share_datastore(workspace, "share", fileshare_standin, share_name)
    landing = ShareClient(fileshare_standin.account_url, share_name, credential=fileshare_standin.credential)

    def staged() -> list[str]:
        try:
            names = [item["name"] for item in landing.get_directory_client("big").list_directories_and_files()]
        except ResourceNotFoundError:
            return []
        return [name for name in names if name.startswith(".studio-upload-")]

    try:
        assert start_copy(client, source, "big", share, "").status_code == 302
        job = latest_job()
        with task_workers(tmp_path) as workers:
            wait_for(staged, seconds=120, what="a file being staged")
            workers[0].kill()
            assert staged(), "the killed worker left its staging file"
            proxy.release()
            workers.append(Worker(tmp_path / "worker-again.log").start())
            job = wait_for(lambda: finished(job.pk), seconds=180, what="the copy's end after the kill")
    finally:
        proxy.close()
    assert job.state == "done", job.message
    assert job.attempt >= 2
    assert share_files(share) == files  # every file whole, no staging file left


@pytest.mark.browser
@sqlite_pass_only("the screenshots")
def test_the_jobs_tab_offers_a_finished_zip_in_a_browser(
    page, live_server, signed_in, blob_service, settings, tmp_path
):
    """Chromium: Download folder as zip on a big folder, the page's button, the Jobs tab with
    Download zip once the worker is done; screenshots at a laptop's and a phone's size."""
    from playwright.sync_api import expect

    media = tmp_path / "media"
    settings.MEDIA_ROOT, settings.JOB_ZIP_FILE_THRESHOLD = str(media), 3
    datastore = signed_in.datastores.get(name="workspaceblobstore")
    container = blob_service.get_container_client(datastore.connection_settings["container_name"])
    for n in range(8):
        container.upload_blob(f"logs/{n}.log", b"line\n" * (n + 1))
    page.goto(f"{live_server.url}{url(datastore, 'datastore_browse')}?path=logs")
    page.get_by_role("link", name="Download folder as zip").click()
    expect(page.get_by_text("its zip is built in the background")).to_be_visible()
    page.get_by_role("button", name="Build the zip in the background").click()
    expect(page.get_by_role("heading", name="Jobs")).to_be_visible()
    with task_workers(tmp_path, MEDIA_ROOT=str(media)):
        wait_for(lambda: finished(latest_job().pk))
    page.reload()
    link = page.get_by_role("link", name="Download zip")
    expect(link).to_be_visible()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for size, (width, height) in {"desktop": (1280, 800), "phone": (390, 844)}.items():
        page.set_viewport_size({"width": width, "height": height})
        link.scroll_into_view_if_needed()
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        page.screenshot(path=str(SCREENSHOTS / f"jobs-zip-done-{size}.png"), full_page=True)
    with page.expect_download() as downloading:
        link.click()
    assert downloading.value.suggested_filename == "logs.zip"
    assert len(unzipped(Path(downloading.value.path()).read_bytes())) == 8
