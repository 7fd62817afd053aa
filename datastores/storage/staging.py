"""Uploads in progress: written under a hidden name in the target folder, then renamed
into place, so a failed upload never leaves a partial file visible. Listings hide them."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from contextlib import contextmanager

from . import paths

logger = logging.getLogger(__name__)

STAGING_PREFIX = ".studio-upload-"


def staging_path(path: str) -> str:
    """A hidden name in the same folder as `path`, written before a rename makes the file visible."""
    return paths.join(paths.parent(path), f"{STAGING_PREFIX}{uuid.uuid4().hex}")


def is_staging_name(name: str) -> bool:
    return name.startswith(STAGING_PREFIX)


@contextmanager
def removed_on_failure(remove: Callable[[], None]):
    """Delete a staging file if anything goes wrong, then let the error through."""
    try:
        yield
    except BaseException:
        try:
            remove()
        except Exception:  # the original error is the one to report
            logger.warning("Could not delete a staging file after a failed upload.")
        raise
