"""What every task worker does beside running tasks: pick up the jobs whose worker died
(services.reap_stale), queue the scheduled health checks (services.schedule_health) and delete
the zips older than JOB_RESULT_HOURS (results.expire_results).

django-tasks-db has no recovery for a worker killed mid-task, so each worker runs this in a
thread, at start and then every half JOB_STALE_SECONDS. Workers racing for one job are fine:
each pick-up is one conditional update, which one of them wins."""

from __future__ import annotations

import logging
import threading

from django.conf import settings
from django.db import connection

from . import results, services

logger = logging.getLogger(__name__)


def sweep() -> None:
    services.reap_stale()
    services.schedule_health()
    results.expire_results()


def _loop(stop: threading.Event) -> None:
    while True:
        try:
            sweep()
        except Exception:  # the database may be away for a moment: try again next round
            logger.exception("Job housekeeping failed; trying again shortly.")
        finally:
            connection.close()
        if stop.wait(max(1.0, settings.JOB_STALE_SECONDS / 2)):
            return


def start() -> threading.Event:
    """Run the housekeeping in a daemon thread of this worker; set the event to stop it."""
    stop = threading.Event()
    threading.Thread(target=_loop, args=(stop,), name="job-housekeeping", daemon=True).start()
    return stop
