"""The audit log: every change and every data access, who did it, from where, and how it ended.

Services and selectors record what they do here, inside the same database
transaction as the change where there is one. An entry names fields that changed,
never their values, and holds no secret.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from .access import Actor
from .models import AuditAction, AuditEntry, Outcome, Workspace
from .storage import StorageError

DETAIL_LIMIT = 2000  # characters of a query's text or a message kept in an entry


def record(
    actor: Actor,
    action: AuditAction,
    *,
    workspace: Workspace | None = None,
    datastore: str = "",
    target: str = "",
    outcome: str = Outcome.OK,
    detail: str = "",
) -> AuditEntry:
    return AuditEntry.objects.create(
        actor=actor.user,
        actor_name=actor.name,
        workspace=workspace,
        workspace_name=workspace.name if workspace else "",
        datastore_name=datastore,
        action=action,
        target=target[:1024],
        outcome=outcome,
        detail=detail[:DETAIL_LIMIT],
        client_address=actor.client_address,
        request_id=actor.request_id[:64],
        via=actor.via[:200],
    )


@dataclass
class Note:
    """What `recorded` writes: the code inside may refine the outcome, target or detail."""

    outcome: str = Outcome.OK
    target: str = ""
    detail: str = ""


@contextmanager
def recorded(
    actor: Actor, action: AuditAction, *, workspace: Workspace, datastore: str = "", target: str = "", detail: str = ""
) -> Iterator[Note]:
    """Record an access when it ends: done (or as the code set it), or failed with the
    storage error's message, which is then raised on."""
    note = Note(target=target, detail=detail)
    try:
        yield note
    except StorageError as failure:
        record(
            actor,
            action,
            workspace=workspace,
            datastore=datastore,
            target=note.target,
            outcome=Outcome.FAILED,
            detail=failure.message,
        )
        raise
    record(
        actor,
        action,
        workspace=workspace,
        datastore=datastore,
        target=note.target,
        outcome=note.outcome,
        detail=note.detail,
    )


# --- reading it back -----------------------------------------------------------------------


@dataclass(frozen=True)
class AuditFilter:
    actor: str = ""  # a username
    datastore: str = ""
    action: str = ""


def entries(workspace: Workspace, actor: Actor, *, everyone: bool, chosen: AuditFilter) -> QuerySet[AuditEntry]:
    """A workspace's entries, newest first: everyone's for its owners, else the actor's own."""
    found = AuditEntry.objects.filter(workspace=workspace)
    if not everyone:
        found = found.filter(actor=actor.user)
    elif chosen.actor:
        found = found.filter(actor_name=chosen.actor)
    if chosen.datastore:
        found = found.filter(datastore_name=chosen.datastore)
    if chosen.action:
        found = found.filter(action=chosen.action)
    return found.order_by("-id")


def page_of(found: QuerySet[AuditEntry], *, before: int | None, size: int) -> tuple[list[AuditEntry], int | None]:
    """One page by cursor (the id to continue below), and the cursor of the next page."""
    if before is not None:
        found = found.filter(id__lt=before)
    page = list(found[: size + 1])
    return page[:size], page[size - 1].id if len(page) > size else None


def prune(now: Callable[[], datetime] = timezone.now) -> int:
    """Delete entries older than AUDIT_RETENTION_DAYS (none when it is unset). Returns how many."""
    days = settings.AUDIT_RETENTION_DAYS
    if not days:
        return 0
    deleted, _ = AuditEntry.objects.filter(at__lt=now() - timedelta(days=days)).delete()
    return deleted


class RequestIdMiddleware:
    """Gives each request an id, kept in its audit entries and sent back as X-Request-ID."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.request_id = uuid.uuid4().hex  # type: ignore[attr-defined]  # our own attribute on the request
        response = self.get_response(request)
        response["X-Request-ID"] = request.request_id  # type: ignore[attr-defined]  # set just above
        return response
