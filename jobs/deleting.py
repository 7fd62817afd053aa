"""Deleting a big folder, as a job: file by file (each one done is marked, so a job picked up
again goes on where it stopped, and a file already gone counts as deleted), then the folder
itself, as the storage type deletes folders (for real folders, the emptied tree)."""

from __future__ import annotations

from django.db import transaction

from datastores.access import Need
from datastores.audit import AuditAction, record
from datastores.storage import NotFound

from .items import list_files, source_of, unfinished
from .models import ItemState, JobItem
from .runner import Run


def delete_work(run: Run) -> str:
    job = run.job
    datastore = source_of(run, Need.CHANGE)
    list_files(run, datastore)
    backend, connection = datastore.backend, datastore.connection()
    for item in unfinished(run):
        try:
            backend.delete(connection, item.path)
        except NotFound:
            pass  # deleted by an attempt that died before marking it
        with transaction.atomic():
            JobItem.objects.filter(pk=item.pk).update(state=ItemState.DONE)
            run.add(items_done=1, bytes_done=item.size or 0)
    run.check()
    try:
        backend.delete_folder(connection, job.source_path)
    except NotFound:
        pass  # nothing was left of it
    count = job.items.count()
    text = f"Deleted the folder {job.source_path} and its {count} file{'' if count == 1 else 's'}."
    record(
        run.actor,
        AuditAction.FOLDER_DELETED,
        workspace=datastore.workspace,
        datastore=datastore.name,
        target=job.source_path,
        detail=f"job {job.pk}: {text}",
    )
    return text
