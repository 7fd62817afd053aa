"""What every page's frame shows: the current workspace and what the person may do in it."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from . import access, selectors


def studio(request: HttpRequest) -> dict[str, Any]:
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {}
    workspace = getattr(request, "workspace", None)
    context: dict[str, Any] = {
        "current_workspace": workspace or selectors.workspace_current(request, access.actor_of(request))
    }
    if workspace is not None:
        context["can"] = request.can  # type: ignore[attr-defined]  # set with request.workspace by views._workspace
    return context
