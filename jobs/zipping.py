"""A big folder (or many ticked files) as one zip, built by a job into a result file that the
Jobs tab offers for download (results.py).

The zip is the one the pages stream (datastores/streams.py: same entries, same guard against
names that would unpack outside the folder), written chunk by chunk, so memory stays bounded
whatever its size. A zip cannot resume: an attempt picked up after its worker died starts over,
and first deletes what the dead one left half-written. A cancel stops it between two chunks and
deletes its partial file."""

from __future__ import annotations

from collections.abc import Iterator

from django.core.files import File
from django.core.files.storage import default_storage

from datastores.access import Need
from datastores.storage import Entry
from datastores.storage.paths import name_of
from datastores.streams import chunks_file, zip_chunks

from . import results
from .items import list_files, source_of, unfinished
from .runner import Run


def zip_work(run: Run) -> str:
    job = run.job
    datastore = source_of(run, Need.VIEW)
    results.discard_partials(job, up_to=run.attempt)
    list_files(run, datastore)  # a selection's files were listed when it was queued
    run.save(items_done=0, bytes_done=0)  # from the start, on every attempt
    partial = results.partial_name(job, run.attempt)
    chunks = _checked(run, zip_chunks(datastore, _entries(run), job.source_path))
    try:
        default_storage.save(partial, File(chunks_file(chunks), name=partial))
        run.check()  # cancelled, or taken over, while the last bytes went
        final = results.publish(partial, results.final_name(job, run.attempt))
    except BaseException:
        default_storage.delete(partial)
        raise
    size = default_storage.size(final)
    run.save(result_name=final, result_size=size, result_expires_at=results.expires_at())
    count = job.items.count()
    text = f"Zipped {count} file{'' if count == 1 else 's'} of {job.source_path or 'the root folder'}."
    if run.attempt > 1:
        text += " Its worker stopped midway, so it started over (a zip cannot resume)."
    return text


def _entries(run: Run) -> Iterator[Entry]:
    """The job's files in order; each one pulled means the one before is in the zip."""
    before = None
    for item in unfinished(run):
        if before is not None:
            run.add(items_done=1, bytes_done=before.size or 0)
        before = item
        yield Entry(name=name_of(item.path), path=item.path, is_folder=False, size=item.size)
    if before is not None:
        run.add(items_done=1, bytes_done=before.size or 0)


def _checked(run: Run, chunks: Iterator[bytes]) -> Iterator[bytes]:
    """The zip's bytes, with a look for a cancel now and then (within a big file too)."""
    for chunk in chunks:
        run.check_now_and_then()
        yield chunk
