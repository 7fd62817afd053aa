"""What the jobs that work file by file share: listing the files once into JobItems, and going
through the ones not yet done (so that an attempt picked up again resumes)."""

from __future__ import annotations

from collections.abc import Iterator

from django.db.models import Count, Sum

from datastores import access, selectors
from datastores.access import Need
from datastores.models import Datastore
from datastores.storage import Entry, NotFound

from .models import ItemState, JobItem
from .runner import Run

BATCH = 500  # items written or read at once


def source_of(run: Run, need: Need) -> Datastore:
    """The datastore the job works on, if its starter may still `need` it (a role may have
    changed since the job was queued)."""
    datastore = run.job.source
    if datastore is None:
        raise NotFound("The datastore was unregistered meanwhile.")
    access.datastore_for(run.actor, datastore.workspace.name, datastore.name, need)
    return datastore


def list_files(run: Run, datastore: Datastore) -> None:
    """The files the job works on, once (an attempt that died while listing lists again: the
    items it wrote stay, and are not written twice)."""
    job = run.job
    if job.items_total is not None:
        return
    entries: Iterator[Entry]
    if job.source_is_folder:
        entries = selectors.folder_files(datastore, job.source_path)
    else:
        entries = iter([selectors.file_stat(datastore, job.source_path, actor=run.actor)])
    batch: list[JobItem] = []
    for entry in entries:
        batch.append(JobItem(job=job, path=entry.path, size=entry.size))
        if len(batch) >= BATCH:
            JobItem.objects.bulk_create(batch, ignore_conflicts=True)
            batch = []
            run.check()
    JobItem.objects.bulk_create(batch, ignore_conflicts=True)
    totals = job.items.aggregate(count=Count("pk"), size=Sum("size"))
    run.save(items_total=totals["count"], bytes_total=totals["size"] or 0)


def unfinished(run: Run) -> Iterator[JobItem]:
    """The items not done yet, in order, checking for a cancel before each."""
    last = 0
    while batch := list(
        run.job.items.filter(pk__gt=last, state__in=[ItemState.PENDING, ItemState.WORKING]).order_by("pk")[:BATCH]
    ):
        for item in batch:
            run.check()
            yield item
        last = batch[-1].pk
