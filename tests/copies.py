"""Helpers for the tests of copies between datastores (tests/test_jobs_*.py)."""

from __future__ import annotations

from datastores.services import datastore_register
from datastores.storage import AuthType, backend_for

from .support import AZURITE_ACCOUNT, AZURITE_KEY, FILESHARE_ACCOUNT, FILESHARE_KEY, url


def blob_datastore(workspace, name, container, azurite_endpoint):
    backend = backend_for("AzureBlob")
    values = backend.clean_values(
        AuthType.ACCOUNT_KEY,
        {
            "account_name": AZURITE_ACCOUNT,
            "container_name": container,
            "endpoint": azurite_endpoint,
            "protocol": "http",
            "account_key": AZURITE_KEY,
        },
    )
    return datastore_register(
        workspace=workspace, name=name, storage_type="AzureBlob", auth_type=AuthType.ACCOUNT_KEY, values=values
    )


def share_datastore(workspace, name, standin, share, *, sas_token: str = ""):
    """A File Share on the stand-in, with its account key, or with `sas_token` when given."""
    backend = backend_for("AzureFile")
    auth_type = AuthType.SAS_TOKEN if sas_token else AuthType.ACCOUNT_KEY
    credential = {"sas_token": sas_token} if sas_token else {"account_key": FILESHARE_KEY}
    values = backend.clean_values(
        auth_type,
        {
            "account_name": FILESHARE_ACCOUNT,
            "file_share_name": share,
            "protocol": "http",
            "endpoint": standin.base_url.removeprefix("http://"),
            **credential,
        },
    )
    return datastore_register(
        workspace=workspace, name=name, storage_type="AzureFile", auth_type=auth_type, values=values
    )


def start_copy(client, source, path, target, target_path="", *, folder=True, overwrite=False):
    form = {"path": path, "target": f"{target.workspace.name}/{target.name}", "target_path": target_path}
    if folder:
        form["folder"] = "1"
    if overwrite:
        form["overwrite"] = "on"
    return client.post(url(source, "datastore_copy"), form)


def finished(job_id):
    from jobs.models import Job

    job = Job.objects.get(pk=job_id)
    return job if not job.is_active else None


def latest_job():
    from jobs.models import Job

    return Job.objects.order_by("-pk").first()


def blobs_of(blob_service, datastore) -> dict[str, bytes]:
    container = blob_service.get_container_client(datastore.connection_settings["container_name"])
    return {blob.name: container.download_blob(blob.name).readall() for blob in container.list_blobs()}


def job_now(pk):
    from jobs.models import Job

    return Job.objects.get(pk=pk)


def share_files(share) -> dict[str, bytes]:
    """Every file in the share as the SDK sees it, hidden staging names included."""
    from azure.storage.fileshare import ShareClient

    connection = share.connection()
    client = ShareClient(
        f"http://{connection['endpoint']}/{connection['account_name']}",
        connection["file_share_name"],
        credential={"account_name": connection["account_name"], "account_key": connection["account_key"]},
    )
    found: dict[str, bytes] = {}
    folders = [""]
    while folders:
        folder = folders.pop()
        for item in client.get_directory_client(folder).list_directories_and_files():
            path = f"{folder}/{item['name']}" if folder else item["name"]
            if item["is_directory"]:
                folders.append(path)
            else:
                found[path] = client.get_file_client(path).download_file().readall()
    return found
