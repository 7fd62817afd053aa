"""Re-testing every datastore of a workspace, as a job: on "Test all", and on the schedule
HEALTH_CHECK_INTERVAL_MINUTES sets. Each test is the one Test connection runs, and feeds the
health badges on the datastore list."""

from __future__ import annotations

from django.db.models import Q

from datastores import services

from .models import ItemState, JobItem
from .runner import Run


def health_work(run: Run) -> str:
    job = run.job
    if job.items_total is None:
        names = list(job.workspace.datastores.order_by("name").values_list("name", flat=True))
        JobItem.objects.bulk_create([JobItem(job=job, path=name) for name in names], ignore_conflicts=True)
        run.save(items_total=job.items.count())
    for item in job.items.filter(state__in=[ItemState.PENDING, ItemState.WORKING]).order_by("pk"):
        run.check()
        datastore = job.workspace.datastores.filter(name=item.path).first()
        if datastore is None:  # unregistered meanwhile
            JobItem.objects.filter(pk=item.pk).update(state=ItemState.SKIPPED)
            run.add(items_skipped=1)
            continue
        services.datastore_test_connection(datastore, actor=run.actor)
        JobItem.objects.filter(pk=item.pk).update(state=ItemState.DONE)
        run.add(items_done=1)
    tested = list(job.items.filter(state=ItemState.DONE).values_list("path", flat=True))
    failed = list(
        job.workspace.datastores.filter(Q(name__in=tested), last_check_ok=False)
        .order_by("name")
        .values_list("name", flat=True)
    )
    text = f"Tested {len(tested)} datastore{'' if len(tested) == 1 else 's'}: {len(tested) - len(failed)} passed"
    return text + (f", {len(failed)} failed ({', '.join(failed)})." if failed else ".")
