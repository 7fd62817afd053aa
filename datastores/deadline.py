"""A bound on how long a page waits for a storage service, retries included.

The calls run under `storage.network.deadline`, which every client's connections obey
(connecting, and reading the whole answer): when the time is up the socket is shut, so
nothing goes on in the background. A call that fails because its time ran out is answered
as TimedOut, in words that say what the page was doing.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from django.conf import settings

from .storage import StorageError, TimedOut, network


def within_deadline[T](call: Callable[[], T], what: str, *, seconds: float | None = None) -> T:
    """The result of `call()`, or TimedOut once `seconds` (STORAGE_TIMEOUT_SECONDS) have passed."""
    limit = float(settings.STORAGE_TIMEOUT_SECONDS if seconds is None else seconds)
    started = time.monotonic()
    try:
        with network.deadline(limit):
            return call()
    except StorageError as failure:
        if isinstance(failure, TimedOut) or time.monotonic() - started < limit * 0.95:
            raise  # the service answered (or refused) in time: its own message says more
        raise TimedOut(
            f"The storage service did not answer within {limit:g} s while {what}. "
            "Check the endpoint and that the service is up, then try again."
        ) from failure
