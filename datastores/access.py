"""Who may do what: the one place that decides.

Every page, command and API route reaches a workspace or a datastore through
`workspace_for` or `datastore_for`, with the acting person and what they want to
do. A workspace the person is not a member of answers exactly as one that does
not exist (404); a workspace they see but may not change this way answers
`RoleRequired` (403, naming the role it needs), and the refusal is audited.
"""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest

from .models import Datastore, Membership, Role, Workspace

ROLE_ORDER = [Role.READER, Role.CONTRIBUTOR, Role.OWNER]


class Need(enum.Enum):
    """What an action needs, and the least role that grants it."""

    VIEW = Role.READER  # list, see non-secret properties, browse, download, preview, query
    CHANGE = Role.CONTRIBUTOR  # register, update authentication, set default, upload, new folder, delete files
    MANAGE = Role.OWNER  # members, unregister

    @property
    def role(self) -> Role:
        return Role(self.value)


@dataclass(frozen=True)
class Actor:
    """Who acts, and from where: a signed-in person, or (user None) the server's own
    administrator running a management command.

    An access token narrows what its user may do, never widens it: `role_cap` is the most
    role it acts with (a read-only token: reader), `workspace_ids` the only workspaces it
    reaches (None: all of the user's), and `via` names it in the audit log."""

    user: Any = None
    client_address: str | None = None
    request_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    role_cap: Role | None = None
    workspace_ids: frozenset[int] | None = None
    via: str = ""

    @property
    def is_administrator(self) -> bool:
        return self.user is None or bool(self.user.is_superuser)

    @property
    def name(self) -> str:
        return self.user.get_username() if self.user is not None else "manage.py"


class RoleRequired(PermissionDenied):
    """The person sees the workspace but their role does not allow the action."""

    def __init__(self, workspace: Workspace, need: Need, role: Role | None):
        self.workspace, self.need, self.role = workspace, need, role
        held = f"you are a {role.label.lower()}" if role else "you are not a member"
        super().__init__(f"This needs the {need.role.label} role in workspace {workspace.name}; {held}.")


def client_address(request: HttpRequest) -> str | None:
    """The client's address: REMOTE_ADDR, or with TRUSTED_PROXY_COUNT proxies in front, the
    X-Forwarded-For entry they added (entries further left are the client's own claims)."""
    hops = settings.TRUSTED_PROXY_COUNT
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
    if hops and len(forwarded) >= hops:
        return forwarded[-hops]
    return request.META.get("REMOTE_ADDR") or None


def actor_of(request: HttpRequest) -> Actor:
    user = request.user if isinstance(request.user, AbstractBaseUser) else None
    if isinstance(request.user, AnonymousUser) or user is None:
        raise PermissionDenied("Sign in first.")
    return Actor(user=user, client_address=client_address(request), request_id=getattr(request, "request_id", ""))


# --- roles ---------------------------------------------------------------------------------


def role_in(actor: Actor, workspace: Workspace) -> Role | None:
    """The actor's role: administrators act as owners everywhere; a token caps it."""
    if actor.workspace_ids is not None and workspace.pk not in actor.workspace_ids:
        return None
    if actor.is_administrator:
        role: Role | None = Role.OWNER
    else:
        membership = Membership.objects.filter(workspace=workspace, user=actor.user).only("role").first()
        role = Role(membership.role) if membership else None
    if role is not None and actor.role_cap is not None and ROLE_ORDER.index(role) > ROLE_ORDER.index(actor.role_cap):
        return actor.role_cap
    return role


def allows(role: Role | None, need: Need) -> bool:
    return role is not None and ROLE_ORDER.index(role) >= ROLE_ORDER.index(need.role)


@dataclass(frozen=True)
class Permissions:
    """What a page may offer the actor in one workspace (templates read `can.change`)."""

    role: Role | None

    @property
    def view(self) -> bool:
        return allows(self.role, Need.VIEW)

    @property
    def change(self) -> bool:
        return allows(self.role, Need.CHANGE)

    @property
    def manage(self) -> bool:
        return allows(self.role, Need.MANAGE)


# --- the selectors ---------------------------------------------------------------------------


def visible_workspaces(actor: Actor) -> QuerySet[Workspace]:
    found = (
        Workspace.objects.all() if actor.is_administrator else Workspace.objects.filter(memberships__user=actor.user)
    )
    if actor.workspace_ids is not None:
        found = found.filter(pk__in=actor.workspace_ids)
    return found


def workspace_for(actor: Actor, name: str, need: Need) -> tuple[Workspace, Permissions]:
    """The workspace, with what the actor may do in it; 404 when they cannot see it."""
    workspace = visible_workspaces(actor).filter(name=name).first()
    if workspace is None:
        raise Http404("No such workspace.")
    role = role_in(actor, workspace)
    if not allows(role, need):
        from .audit import AuditAction, record  # audit imports this module

        record(actor, AuditAction.ACCESS_REFUSED, workspace=workspace, outcome="refused", detail=f"needs {need.role}")
        raise RoleRequired(workspace, need, role)
    return workspace, Permissions(role)


def datastore_for(actor: Actor, workspace_name: str, name: str, need: Need) -> tuple[Datastore, Permissions]:
    """The datastore of a workspace the actor can see; 404 for either one missing or hidden."""
    workspace, can = workspace_for(actor, workspace_name, Need.VIEW)
    datastore = Datastore.objects.filter(workspace=workspace, name=name).first()
    if datastore is None:
        raise Http404("No such datastore.")
    if not allows(can.role, need):
        from .audit import AuditAction, record

        record(
            actor,
            AuditAction.ACCESS_REFUSED,
            workspace=workspace,
            datastore=datastore.name,
            outcome="refused",
            detail=f"needs {need.role}",
        )
        raise RoleRequired(workspace, need, can.role)
    return datastore, can
