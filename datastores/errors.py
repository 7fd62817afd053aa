"""Storage errors and refused roles mapped to answers in one place, and logged here.

Views let a StorageError from a backend or a service rise, and `access.RoleRequired`
too; `ErrorAnswerMiddleware` answers them with the page the user was on (the
datastore's header and tabs, the message, and the way out), with the part htmx
asked for, or with JSON for the upload requests. The status says what kind of
failure it was (400, 403, 404, 409, 502, 504), never 500.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse

from .access import RoleRequired
from .logs import RedactSecrets
from .storage import AuthenticationFailed, PermissionMissing, StorageError, StoredSettingsInvalid
from .storage.paths import clean_path, parent

logger = logging.getLogger(__name__)
logger.addFilter(RedactSecrets())  # caplog and every other handler see the redacted record

# Failures that the datastore's stored settings or credentials can fix.
FIXED_BY_AUTHENTICATION = (AuthenticationFailed, PermissionMissing, StoredSettingsInvalid)

TAB_OF_VIEW = {
    "datastore_browse": "browse",
    "datastore_file": "browse",
    "datastore_folder_zip": "browse",
    "datastore_selection_zip": "browse",
    "datastore_delete_file": "browse",
    "datastore_delete_folder": "browse",
    "datastore_new_folder": "browse",
    "datastore_move": "browse",
    "datastore_preview": "browse",
    "datastore_preview_image": "browse",
    "datastore_tables": "tables",
    "datastore_table": "tables",
    "datastore_table_csv": "tables",
    "datastore_query": "tables",
    "datastore_query_csv": "tables",
}


def wants_json(request: HttpRequest) -> bool:
    return request.method == "PUT" or "application/json" in request.headers.get("Accept", "")


def fix_urls(request: HttpRequest, error: StorageError) -> list[tuple[str, str]]:
    """The ways out: (label, URL), most useful first. Every answer has at least one."""
    datastore = getattr(request, "datastore", None)
    if datastore is None:
        return [("Workspaces", reverse("workspace_list"))]
    args = [datastore.workspace.name, datastore.name]
    ways = []
    if isinstance(error, FIXED_BY_AUTHENTICATION) or (
        error.field and error.field in datastore.backend.form_fields(datastore.auth_type)
    ):
        ways.append(("Update authentication", reverse("datastore_edit_auth", args=args)))
    folder = _folder_of(request)
    match = request.resolver_match
    if folder is not None and TAB_OF_VIEW.get((match.url_name or "") if match else "") == "browse":
        if not (match and match.url_name == "datastore_browse" and not folder):  # not back to the page that failed
            label = f"Back to {folder}" if folder else "Back to the root folder"
            ways.append((label, reverse("datastore_browse", args=args) + "?" + urlencode({"path": folder})))
    ways.append((f"Overview of {datastore.name}", reverse("datastore_detail", args=args)))
    return ways


def _folder_of(request: HttpRequest) -> str | None:
    """The folder the failed action was about, if it was one of the file pages."""
    match = request.resolver_match
    if match is None:
        return None
    typed = request.POST.get("path") if request.method == "POST" else request.GET.get("path")
    typed = typed if typed is not None else match.kwargs.get("file_path", "")
    try:
        path = clean_path(typed)
    except StorageError:
        return ""
    # A folder's own pages are about the folder itself; the others about a file in it.
    return path if match.url_name in ("datastore_folder_zip", "datastore_new_folder") else parent(path)


def storage_error_response(request: HttpRequest, error: StorageError) -> HttpResponse:
    cause = error.__cause__ or error.__context__
    if error.status >= 500:  # the service failed: keep the cause's traceback for whoever runs the studio
        logger.warning(
            "%s %s failed: %s",
            request.method,
            request.path,
            error.message,
            exc_info=(type(cause), cause, cause.__traceback__) if cause else None,
        )
    else:
        logger.info(
            "%s %s refused (%s): %s",
            request.method,
            request.path,
            type(cause).__name__ if cause else "-",
            error.message,
        )
    if wants_json(request):
        ways = [{"label": label, "url": url} for label, url in fix_urls(request, error)]
        body = {"outcome": "failed", "message": error.message, "field": error.field, "ways_out": ways}
        return JsonResponse(body, status=error.status)
    datastore = getattr(request, "datastore", None)
    match = request.resolver_match
    context: dict[str, Any] = {
        "message": error.message,
        "ways_out": fix_urls(request, error),
        "datastore": datastore,
        "workspace": datastore.workspace if datastore else None,
        "tab": TAB_OF_VIEW.get((match.url_name or "") if match else "", "overview"),
    }
    htmx = getattr(request, "htmx", None)
    template = "datastores/storage_error.html" + ("#error" if htmx else "")
    response = render(request, template, context, status=error.status)
    if htmx:
        response["HX-Reswap"] = "innerHTML"  # inside the target, which keeps its id for the next swap
    return response


def role_required_response(request: HttpRequest, refused: RoleRequired) -> HttpResponse:
    message = str(refused)
    if wants_json(request):
        return JsonResponse({"outcome": "refused", "message": message}, status=403)
    htmx = getattr(request, "htmx", None)
    context = {"message": message, "workspace": refused.workspace, "needed": refused.need.role}
    response = render(request, "403.html" + ("#refusal" if htmx else ""), context, status=403)
    if htmx:
        response["HX-Reswap"] = "innerHTML"
    return response


class ErrorAnswerMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, StorageError):
            return storage_error_response(request, exception)
        if isinstance(exception, RoleRequired):
            return role_required_response(request, exception)
        return None
