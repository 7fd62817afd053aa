"""Copying a file or a folder from one file datastore to another, as a job.

When the source can hand out a read URL and the target's service copies from URLs (Blob to
Blob), the storage service copies each file itself and no byte passes through the worker.
Otherwise each file streams through the worker, chunk by chunk (bounded memory), into the
target's ordinary upload, which never leaves a partial file. Overwrite off: the service decides
what is skipped (a conditional write), and skipped files are named.

Resuming: the files are listed once into JobItems; a file is marked begun before its copy and
done after it, so a job picked up again skips what is done and, for a file begun when its worker
died, looks at the target: there with the source's size means it landed. A streamed file stages
under a name made from its job, item and attempt (datastores/storage/staging.py), so the re-run
of a file begun by a killed worker deletes the hidden staging file that worker left.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta

from django.db import transaction
from django.db.models import Count, Q, Sum

from datastores import access, selectors
from datastores.access import Need
from datastores.audit import AuditAction, record
from datastores.models import Datastore
from datastores.storage import NotFound, UploadOutcome
from datastores.storage.paths import join, parent
from datastores.storage.staging import staging_named, staging_path_of

from .items import list_files, unfinished
from .models import ItemState, Job, JobItem
from .runner import Run

READ_URL_LIFETIME = timedelta(minutes=30)  # a server-side copy's source URL, per file
NAMED_SKIPS = 5  # skipped files named in the closing message (the Jobs page lists them all)


def target_of(job: Job, path: str) -> str:
    """Where a source file lands: the folder (or file) copied keeps its name inside the target path."""
    base = parent(job.source_path)
    relative = path[len(base) + 1 :] if base else path
    return join(job.target_path, relative)


def ends(source: Datastore, target: Datastore, actor: access.Actor) -> None:
    """The starter may still read the source and change the target (a role may have changed
    since the job was queued)."""
    access.datastore_for(actor, source.workspace.name, source.name, Need.VIEW)
    access.datastore_for(actor, target.workspace.name, target.name, Need.CHANGE)


def copy_work(run: Run) -> str:
    job = run.job
    source, target = job.source, job.target
    if source is None or target is None:
        raise NotFound("The source or the target datastore was unregistered meanwhile.")
    ends(source, target, run.actor)
    list_files(run, source)
    _recount(run)
    server_side = source.backend.capabilities.read_urls and target.backend.capabilities.copy_from_url
    copier = _Copier(run, source, target, server_side=server_side)
    for item in unfinished(run):
        copier.copy(item)
    return _summary(run, source, target)


def _recount(run: Run) -> None:
    """The counters from the items (an attempt may have died between a file and its count)."""
    done = Q(state=ItemState.DONE)
    counts = run.job.items.aggregate(
        done=Count("pk", filter=done),
        skipped=Count("pk", filter=Q(state=ItemState.SKIPPED)),
        size=Sum("size", filter=done),
    )
    run.save(items_done=counts["done"], items_skipped=counts["skipped"], bytes_done=counts["size"] or 0)


class _Copier:
    def __init__(self, run: Run, source: Datastore, target: Datastore, *, server_side: bool):
        self.run, self.source, self.target, self.server_side = run, source, target, server_side
        self.source_connection, self.target_connection = source.connection(), target.connection()

    def copy(self, item: JobItem) -> None:
        landing = target_of(self.run.job, item.path)
        if item.state == ItemState.WORKING:
            if not self.server_side:
                self._discard_staging(item, landing)
            if self._landed(landing, item.size):
                self._finish(item, UploadOutcome.UPLOADED)
                return
        JobItem.objects.filter(pk=item.pk).update(state=ItemState.WORKING)
        if self.server_side:
            url = self.source.backend.read_url(self.source_connection, item.path, lifetime=READ_URL_LIFETIME)
            outcome = self.target.backend.copy_from_url(
                self.target_connection,
                landing,
                url,
                overwrite=self.run.job.overwrite,
                waiting=self.run.check_now_and_then,
            )
            self._finish(item, outcome)
            return
        download = self.source.backend.download(self.source_connection, item.path)

        def chunks() -> Iterator[bytes]:
            """The source's chunks, counted (now and then, so the page shows bytes passing)."""
            pending, flushed = 0, time.monotonic()
            try:
                for chunk in download.chunks:
                    pending += len(chunk)
                    if time.monotonic() - flushed >= 1:
                        self.run.add(bytes_streamed=pending)
                        pending, flushed = 0, time.monotonic()
                    self.run.check_now_and_then()
                    yield chunk
            finally:
                self.run.add(bytes_streamed=pending)
                close = getattr(download.chunks, "close", None)
                if close:
                    close()

        content_type = "" if download.content_type == "application/octet-stream" else download.content_type
        with staging_named(self._staging_key(item, self.run.attempt)):
            outcome = self.target.backend.upload(
                self.target_connection,
                landing,
                chunks(),
                overwrite=self.run.job.overwrite,
                content_type=content_type,
                size=download.size,
            )
        self._finish(item, outcome)

    def _staging_key(self, item: JobItem, attempt: int) -> str:
        return f"job-{self.run.job.pk}-item-{item.pk}-attempt-{attempt}"

    def _discard_staging(self, item: JobItem, landing: str) -> None:
        """What the attempts before this one left staged for the file (a worker killed between
        writing it and renaming it into place)."""
        for attempt in range(1, self.run.attempt):
            try:
                self.target.backend.delete(
                    self.target_connection, staging_path_of(landing, self._staging_key(item, attempt))
                )
            except NotFound:
                pass  # it finished, failed cleanly, or never began

    def _landed(self, landing: str, size: int | None) -> bool:
        """A file begun by an attempt that died: there, with the source's size, means it landed
        (every write lands whole or not at all)."""
        try:
            found = selectors.file_stat(self.target, landing, actor=self.run.actor)
        except NotFound:
            return False
        return not found.is_folder and (size is None or found.size == size)

    def _finish(self, item: JobItem, outcome: UploadOutcome) -> None:
        with transaction.atomic():
            if outcome == UploadOutcome.UPLOADED:
                JobItem.objects.filter(pk=item.pk).update(state=ItemState.DONE)
                self.run.add(items_done=1, bytes_done=item.size or 0)
            else:
                JobItem.objects.filter(pk=item.pk).update(state=ItemState.SKIPPED)
                self.run.add(items_skipped=1)


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _summary(run: Run, source: Datastore, target: Datastore) -> str:
    job = run.job
    done = job.items.filter(state=ItemState.DONE).count()
    skipped = list(job.items.filter(state=ItemState.SKIPPED).values_list("path", flat=True)[: NAMED_SKIPS + 1])
    skipped_count = job.items.filter(state=ItemState.SKIPPED).count()
    streamed = Job.objects.values_list("bytes_streamed", flat=True).get(pk=job.pk)
    how = "by the storage service" if not streamed and done else "through the worker"
    text = f"Copied {_plural(done, 'file')} to {target.name}:{job.target_path or '/'} {how}."
    if skipped_count:
        named = ", ".join(target_of(job, path) for path in skipped[:NAMED_SKIPS])
        more = f" and {skipped_count - NAMED_SKIPS} more" if skipped_count > NAMED_SKIPS else ""
        text += f" Skipped {_plural(skipped_count, 'file')} already there (overwrite was off): {named}{more}."
    if not done and not skipped_count:
        text = f"Nothing to copy: {job.source_path or 'the root folder'} holds no file."
    detail = f"job {job.pk}: {text}"
    for datastore, action, path in (
        (source, AuditAction.FILE_DOWNLOADED, job.source_path),
        (target, AuditAction.FILE_UPLOADED, job.target_path),
    ):
        record(
            run.actor,
            action,
            workspace=datastore.workspace,
            datastore=datastore.name,
            target=path or "/",
            detail=detail,
        )
    return text
