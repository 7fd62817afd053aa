"""`manage.py db_worker`: django-tasks-db's worker, with the studio's job housekeeping beside it
(jobs/housekeeping.py). Same options; run as many as wanted, on any machine that reaches the
database."""

from __future__ import annotations

import os
from typing import Any

from django.utils.autoreload import DJANGO_AUTORELOAD_ENV
from django_tasks_db.management.commands.db_worker import Command as DatabaseWorkerCommand

from jobs import housekeeping


class Command(DatabaseWorkerCommand):
    help = "Run a background worker: the tasks of django-tasks-db, and the pick-up of jobs whose worker died."

    def handle(self, *args: Any, **options: Any) -> None:
        reloading = options.get("reload") and not options.get("batch")
        if not reloading or os.environ.get(DJANGO_AUTORELOAD_ENV) == "true":  # not in the reloader's parent
            housekeeping.start()
        super().handle(*args, **options)
