"""A bound on how long a page waits for a storage service, retries included.

Client libraries retry on their own (the Azure SDKs up to three times, each with its
read timeout), so one call can take several times STORAGE_TIMEOUT_SECONDS. A page's
read runs here in a thread of its own and the page stops waiting at the deadline; the
call then ends by itself within its client's own timeouts.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

from django.conf import settings

from .storage import TimedOut

T = TypeVar("T")


def within_deadline(call: Callable[[], T], what: str, *, seconds: float | None = None) -> T:
    """The result of `call()`, or TimedOut once `seconds` (STORAGE_TIMEOUT_SECONDS) have passed."""
    limit = settings.STORAGE_TIMEOUT_SECONDS if seconds is None else seconds
    outcome: dict[str, object] = {}

    def run() -> None:
        try:
            outcome["result"] = call()
        except BaseException as error:  # handed to the waiting request below
            outcome["error"] = error

    worker = threading.Thread(target=run, name=f"storage: {what}", daemon=True)
    worker.start()
    worker.join(limit)
    if worker.is_alive():
        raise TimedOut(
            f"The storage service did not answer within {limit:g} s while {what}. "
            "Check the endpoint and that the service is up, then try again."
        )
    if "error" in outcome:
        raise outcome["error"]  # type: ignore[misc]
    return outcome["result"]  # type: ignore[return-value]
