"""The studio's own REST API, /api/v1/: django-ninja, typed schemas, OpenAPI 3.1 at
/api/v1/openapi.json and its docs page at /api/v1/docs (Swagger UI from the studio's static files).

Every route reaches workspaces and datastores through access.py with the token's Actor and
calls the same services and selectors the pages call; errors are answered in one place
(`answer_error`) as RFC 9457 problem details.
"""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.conf import settings
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.utils.http import content_disposition_header
from ninja import Body, NinjaAPI, Query, Status, Swagger
from ninja.errors import AuthenticationError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.openapi.schema import OpenAPISchema
from ninja.security import HttpBearer
from pydantic import BaseModel

from .. import access, audit, selectors, services, tokens
from ..access import Actor, Need, RoleRequired
from ..models import Datastore, Membership, Role, Workspace
from ..storage import BACKENDS, ScriptCredential, StorageBackend, StorageError, backend_for
from ..storage.fields import SecretField
from ..streams import request_chunks, safe_filename, zip_response
from . import schemas
from .limits import too_many
from .problems import field_problem, logger, problem, unauthorized
from .schemas import MAX_PAGE, Problem

ERRORS = {
    400: Problem,
    401: Problem,
    403: Problem,
    404: Problem,
    409: Problem,
    429: Problem,
    502: Problem,
    504: Problem,
}


class RateLimited(Exception):
    pass


class TokenAuth(HttpBearer):
    """A personal access token, or a short-lived access token issued for one (tokens.py)."""

    def __call__(self, request: HttpRequest) -> Actor | None:
        token = tokens.token_from_bearer(tokens.bearer_of(request))
        if token is None:
            address = access.client_address(request) or "-"
            if too_many(request, group="api.refused", key=address, rate=settings.API_REFUSED_RATE_LIMIT):
                raise RateLimited()
            return None
        if too_many(request, group="api.token", key=str(token.pk), rate=settings.API_RATE_LIMIT):
            raise RateLimited()
        actor = tokens.actor_for(request, token)
        services.token_used(actor=actor, token=token)
        return actor

    def authenticate(self, request: HttpRequest, token: str) -> Any:  # the work is done in __call__
        return None


class StudioApi(NinjaAPI):
    def validation_error_from_error_contexts(self, error_contexts: list[Any]) -> NinjaValidationError:
        """As ninja's, but keeping each error's input, so that answer_error can ask the storage
        type's form field what it says about it (the input itself is never sent back)."""
        errors: list[dict[str, Any]] = []
        for context in error_contexts:
            model = context.model
            for error in context.pydantic_validation_error.errors(include_url=False, include_context=False):
                error["loc"] = (
                    model.__ninja_param_source__,
                    *model.__ninja_flatten_map_reverse__.get(error["loc"], error["loc"]),
                )
                errors.append(dict(error))
        return NinjaValidationError(errors)

    def get_openapi_schema(self, *args: Any, **kwargs: Any) -> OpenAPISchema:
        """Errors are documented as application/problem+json, which is what they are sent as."""
        schema = super().get_openapi_schema(*args, **kwargs)
        for operations in schema.get("paths", {}).values():
            for operation in operations.values():
                for status, response in operation.get("responses", {}).items():
                    content = response.get("content", {})
                    if int(status) >= 400 and "application/json" in content:
                        content["application/problem+json"] = content.pop("application/json")
        return schema


api = StudioApi(
    title="Datastore Studio API",
    version="1",
    description=(
        "Everything the studio's pages do, for scripts. Authenticate with a personal access token from the "
        "Tokens page: `Authorization: Bearer <token>`. Errors are RFC 9457 problem details."
    ),
    urls_namespace="api-v1",
    auth=TokenAuth(),
    docs=Swagger(settings={"validatorUrl": None, "persistAuthorization": False}),
)


# --- errors, in one place ------------------------------------------------------------------------


def _form_message(backend: StorageBackend, auth_type: str, field_name: str, raw: Any) -> str | None:
    """What the form says about this value of this field, if it refuses it."""
    form_field = {**backend.connection_fields, **backend.auth_method(auth_type).fields, **backend.options}.get(
        field_name
    )
    if form_field is None:
        return None
    try:
        form_field.clean(raw)
    except forms.ValidationError as error:
        return error.messages[0]
    return None


def _validation_errors(errors: list[dict[str, Any]]) -> dict[str, list[str]]:
    """Pydantic's errors as {field: [message]}, with the form's own message where a declared field
    refuses the value (the same bad input gets the same message as in the form)."""
    found: dict[str, list[str]] = {}
    for error in errors:
        location = [str(part) for part in error.get("loc", ()) if part not in ("body", "payload", "query", "path")]
        model = next((schemas.BODY_MODELS[part] for part in location if part in schemas.BODY_MODELS), None)
        location = [part for part in location if part not in schemas.BODY_MODELS]
        field_name = location[0] if location else ""  # a body's field, then pydantic's own detail
        message = error.get("msg", "Invalid value.")
        if error.get("type") == "union_tag_invalid":
            given = sent if isinstance(sent := error.get("input"), dict) else {}
            field_name = "storage_type" if given.get("storage_type") not in BACKENDS else "auth_type"
            message = f"Select a valid choice. {given.get(field_name)} is not one of the available choices."
        elif model is not None and field_name:
            raw = None if error.get("type") == "missing" else error.get("input")
            message = _form_message(*model, field_name, raw) or message
        elif error.get("type") == "missing":
            message = "This field is required."
        found.setdefault(field_name or "body", []).append(message)
    return found


def answer_error(request: HttpRequest, error: Exception) -> HttpResponse:
    if isinstance(error, StorageError):
        if error.status >= 500:
            logger.warning("%s %s failed: %s", request.method, request.path, error.message)
        return problem(request, error.status, error.message, field=error.field)
    if isinstance(error, RoleRequired):
        return problem(request, 403, str(error))
    if isinstance(error, Http404):
        return problem(request, 404, str(error) or "Not found.")
    if isinstance(error, AuthenticationError):
        return unauthorized(request)
    if isinstance(error, RateLimited):
        return problem(
            request, 429, "Too many requests: slow down and try again in a minute.", headers={"Retry-After": "60"}
        )
    if isinstance(error, NinjaValidationError):
        return field_problem(request, _validation_errors(error.errors))
    if isinstance(error, forms.ValidationError):
        return field_problem(request, error.message_dict if hasattr(error, "error_dict") else {"body": error.messages})
    if isinstance(error, services.DatastoreNameTaken):
        return problem(
            request,
            409,
            "A datastore with this name already exists in this workspace. Tick Overwrite to replace it.",
            field="name",
        )
    if isinstance(error, services.MembershipRefused):
        return problem(request, 409, error.message, field="who")
    raise error


kind: type[Exception]
for kind in (
    StorageError,
    RoleRequired,
    Http404,
    AuthenticationError,
    RateLimited,
    NinjaValidationError,
    forms.ValidationError,
    services.DatastoreNameTaken,
    services.MembershipRefused,
):
    # ninja types a handler as taking the exception or its class; it is always called with the exception.
    api.add_exception_handler(kind, answer_error)  # type: ignore[arg-type]


# --- helpers -------------------------------------------------------------------------------------


def actor_of(request: HttpRequest) -> Actor:
    return request.auth  # type: ignore[attr-defined]  # ninja sets it: the Actor the bearer token authenticated


def page_of(found: QuerySet, key: str, cursor: str | None, limit: int) -> tuple[list[Any], str | None]:
    """One page ordered by a unique `key`, after `cursor` (the last key of the previous page)."""
    if cursor:
        found = found.filter(**{f"{key}__gt": cursor})
    rows = list(found.order_by(key)[: limit + 1])
    more = len(rows) > limit
    return rows[:limit], (str(getattr(rows[limit - 1], key)) if more else None)


def _datastore(
    request: HttpRequest, workspace: str, name: str, need: Need = Need.VIEW
) -> tuple[Datastore, access.Permissions]:
    return access.datastore_for(actor_of(request), workspace, name, need)


def _files(request: HttpRequest, workspace: str, name: str, need: Need = Need.VIEW) -> Datastore:
    datastore, _can = _datastore(request, workspace, name, need)
    if not datastore.backend.capabilities.browse:
        raise Http404("This datastore has no files: its data are reached through the table routes.")
    return datastore


def _tables(request: HttpRequest, workspace: str, name: str, *, queries: bool = False) -> Datastore:
    datastore, _can = _datastore(request, workspace, name)
    capabilities = datastore.backend.capabilities
    if not capabilities.tables or (queries and not capabilities.queries):
        raise Http404("This datastore has no tables." if not capabilities.tables else "This datastore runs no queries.")
    return datastore


def datastore_out(datastore: Datastore) -> dict[str, Any]:
    backend = BACKENDS.get(datastore.storage_type)
    secret_labels: dict[str, str] = {}
    if backend is not None and datastore.auth_type in backend.auth_types:
        declared = backend.auth_method(datastore.auth_type).fields
        secret_labels = {name: str(field.label) for name, field in declared.items() if isinstance(field, SecretField)}
    capabilities = backend.capabilities if backend else None
    return {
        "name": datastore.name,
        "storage_type": datastore.storage_type,
        "storage_type_label": backend.label if backend else datastore.storage_type,
        "auth_type": datastore.auth_type,
        "is_default": datastore.is_default,
        "location": backend.location(datastore.connection_settings) if backend else "",
        "settings": datastore.connection_settings,
        "secrets": [
            {"field": name, "label": label, "updated_at": datastore.secrets_updated_at}
            for name, label in secret_labels.items()
        ],
        "capabilities": {name: bool(getattr(capabilities, name, False)) for name in schemas_capabilities()},
        "last_check": {
            "ok": datastore.last_check_ok,
            "message": datastore.last_check_message,
            "at": datastore.last_checked_at,
        },
        "created_at": datastore.created_at,
        "updated_at": datastore.updated_at,
    }


def schemas_capabilities() -> list[str]:
    from ..storage import Capabilities

    return list(Capabilities.__dataclass_fields__)


def _clean_update(backend: StorageBackend, auth_type: str, raw: dict[str, Any]) -> dict[str, Any]:
    """Clean values as the Update authentication form does: a blank secret keeps the stored one."""
    values, errors = {}, {}
    for name, form_field in backend.form_fields(auth_type, updating=True).items():
        if isinstance(form_field, SecretField):
            form_field.required = False
        value = raw.get(name)
        try:
            values[name] = form_field.clean(form_field.initial if value is None else value)
        except forms.ValidationError as error:
            errors[name] = error.messages
    if errors:
        raise forms.ValidationError(errors)
    return values


def _body_values(body: BaseModel) -> dict[str, Any]:
    return body.model_dump(exclude={"storage_type", "auth_type", "name", "overwrite"})


# --- workspaces and members ---------------------------------------------------------------------


@api.get("/workspaces", response={200: schemas.WorkspacePage, **ERRORS}, tags=["workspaces"])
def workspace_list(request: HttpRequest, cursor: str | None = None, limit: int = Query(50, ge=1, le=MAX_PAGE)) -> dict:
    actor = actor_of(request)
    found, next_cursor = page_of(access.visible_workspaces(actor), "name", cursor, limit)
    roles = {}
    if not actor.is_administrator:
        roles = dict(
            Membership.objects.filter(user=actor.user, workspace__in=found).values_list("workspace_id", "role")
        )
    items = [
        {
            "name": workspace.name,
            "description": workspace.description,
            "created_at": workspace.created_at,
            "role": access.role_in(actor, workspace)
            if actor.is_administrator
            else _capped(actor, roles.get(workspace.pk)),
        }
        for workspace in found
    ]
    return {"items": items, "next_cursor": next_cursor}


def _capped(actor: Actor, role: str | None) -> Role | None:
    if role is None:
        return None
    held = Role(role)
    cap = actor.role_cap
    return cap if cap and access.ROLE_ORDER.index(held) > access.ROLE_ORDER.index(cap) else held


def _workspace_out(workspace: Workspace, can: access.Permissions) -> dict:
    return {
        "name": workspace.name,
        "description": workspace.description,
        "created_at": workspace.created_at,
        "role": can.role,
    }


@api.post("/workspaces", response={201: schemas.WorkspaceOut, **ERRORS}, tags=["workspaces"])
def workspace_create(request: HttpRequest, payload: schemas.WorkspaceIn) -> Any:
    actor = actor_of(request)
    if actor.role_cap is not None or actor.workspace_ids is not None:
        return problem(request, 403, "A read-only token, or one limited to some workspaces, cannot create workspaces.")
    workspace = services.workspace_create(actor=actor, name=payload.name, description=payload.description)
    return Status(201, _workspace_out(workspace, access.Permissions(Role.OWNER)))


@api.get("/workspaces/{workspace}", response={200: schemas.WorkspaceOut, **ERRORS}, tags=["workspaces"])
def workspace_get(request: HttpRequest, workspace: str) -> dict:
    found, can = access.workspace_for(actor_of(request), workspace, Need.VIEW)
    return _workspace_out(found, can)


def _member_out(membership: Membership) -> dict:
    return {
        "username": membership.user.get_username(),
        "email": membership.user.email,
        "role": membership.role,
        "added_at": membership.added_at,
    }


@api.get("/workspaces/{workspace}/members", response={200: schemas.MemberPage, **ERRORS}, tags=["members"])
def member_list(
    request: HttpRequest, workspace: str, cursor: str | None = None, limit: int = Query(50, ge=1, le=MAX_PAGE)
) -> dict:
    found, _can = access.workspace_for(actor_of(request), workspace, Need.MANAGE)
    members = Membership.objects.filter(workspace=found).select_related("user")
    if cursor:
        members = members.filter(user__username__gt=cursor)
    rows = list(members.order_by("user__username")[: limit + 1])
    next_cursor = rows[limit - 1].user.get_username() if len(rows) > limit else None
    return {"items": [_member_out(member) for member in rows[:limit]], "next_cursor": next_cursor}


def _membership(workspace: Workspace, username: str) -> Membership:
    membership = (
        Membership.objects.select_related("user", "workspace")
        .filter(workspace=workspace, user__username=username)
        .first()
    )
    if membership is None:
        raise Http404("No such member.")
    return membership


@api.post("/workspaces/{workspace}/members", response={201: schemas.MemberOut, **ERRORS}, tags=["members"])
def member_add(request: HttpRequest, workspace: str, payload: schemas.MemberIn) -> Status:
    found, _can = access.workspace_for(actor_of(request), workspace, Need.MANAGE)
    membership = services.member_add(actor=actor_of(request), workspace=found, who=payload.who, role=Role(payload.role))
    return Status(201, _member_out(membership))


@api.patch("/workspaces/{workspace}/members/{username}", response={200: schemas.MemberOut, **ERRORS}, tags=["members"])
def member_change(request: HttpRequest, workspace: str, username: str, payload: schemas.MemberRoleIn) -> dict:
    found, _can = access.workspace_for(actor_of(request), workspace, Need.MANAGE)
    membership = services.member_change_role(
        actor=actor_of(request), membership=_membership(found, username), role=Role(payload.role)
    )
    return _member_out(membership)


@api.delete("/workspaces/{workspace}/members/{username}", response={204: None, **ERRORS}, tags=["members"])
def member_remove(request: HttpRequest, workspace: str, username: str) -> Status:
    found, _can = access.workspace_for(actor_of(request), workspace, Need.MANAGE)
    services.member_remove(actor=actor_of(request), membership=_membership(found, username))
    return Status(204, None)


# --- datastores --------------------------------------------------------------------------------------


@api.get("/workspaces/{workspace}/datastores", response={200: schemas.DatastorePage, **ERRORS}, tags=["datastores"])
def datastore_list(
    request: HttpRequest,
    workspace: str,
    storage_type: str | None = None,
    name: str | None = Query(None, max_length=255, description="Names that contain this."),
    cursor: str | None = None,
    limit: int = Query(50, ge=1, le=MAX_PAGE),
) -> dict:
    found, _can = access.workspace_for(actor_of(request), workspace, Need.VIEW)
    datastores = selectors.datastore_list(found, search=name or "")
    if storage_type:
        datastores = datastores.filter(storage_type=storage_type)
    rows, next_cursor = page_of(datastores, "name", cursor, limit)
    return {"items": [datastore_out(datastore) for datastore in rows], "next_cursor": next_cursor}


@api.post("/workspaces/{workspace}/datastores", response={201: schemas.DatastoreOut, **ERRORS}, tags=["datastores"])
def datastore_register(request: HttpRequest, workspace: str, payload: schemas.RegisterBody = Body(...)) -> Status:
    found, _can = access.workspace_for(actor_of(request), workspace, Need.CHANGE)
    name_field = forms.CharField(max_length=255, validators=[*Datastore._meta.get_field("name").validators])
    try:
        name = name_field.clean(payload.name)
    except forms.ValidationError as error:
        raise forms.ValidationError({"name": error.messages}) from None
    backend = backend_for(payload.storage_type)
    values = backend.clean_values(payload.auth_type, _body_values(payload))
    datastore = services.datastore_register(
        workspace=found,
        name=name,
        storage_type=payload.storage_type,
        auth_type=payload.auth_type,
        values=values,
        overwrite=payload.overwrite,
        actor=actor_of(request),
    )
    return Status(201, datastore_out(datastore))


@api.get(
    "/workspaces/{workspace}/datastores/{name}", response={200: schemas.DatastoreOut, **ERRORS}, tags=["datastores"]
)
def datastore_get(request: HttpRequest, workspace: str, name: str) -> dict:
    datastore, _can = _datastore(request, workspace, name)
    return datastore_out(datastore)


@api.put(
    "/workspaces/{workspace}/datastores/{name}/authentication",
    response={200: schemas.DatastoreOut, **ERRORS},
    tags=["datastores"],
)
def datastore_update_auth(
    request: HttpRequest, workspace: str, name: str, payload: schemas.UpdateAuthBody = Body(...)
) -> dict:
    datastore, _can = _datastore(request, workspace, name, Need.CHANGE)
    if payload.storage_type != datastore.storage_type:
        raise forms.ValidationError(
            {"storage_type": ["A datastore keeps its storage type: register a new one instead."]}
        )
    values = _clean_update(datastore.backend, payload.auth_type, _body_values(payload))
    updated = services.datastore_update_auth(
        datastore=datastore, auth_type=payload.auth_type, values=values, actor=actor_of(request)
    )
    return datastore_out(updated)


@api.get(
    "/workspaces/{workspace}/default-datastore", response={200: schemas.DatastoreOut, **ERRORS}, tags=["datastores"]
)
def datastore_default_get(request: HttpRequest, workspace: str) -> dict:
    found, _can = access.workspace_for(actor_of(request), workspace, Need.VIEW)
    datastore = found.datastores.filter(is_default=True).first()
    if datastore is None:
        raise Http404("This workspace has no default datastore.")
    return datastore_out(datastore)


@api.put(
    "/workspaces/{workspace}/default-datastore", response={200: schemas.DatastoreOut, **ERRORS}, tags=["datastores"]
)
def datastore_default_set(request: HttpRequest, workspace: str, payload: schemas.DefaultIn) -> dict:
    datastore, _can = _datastore(request, workspace, payload.name, Need.CHANGE)
    services.datastore_set_default(datastore, actor=actor_of(request))
    return datastore_out(datastore)


@api.post(
    "/workspaces/{workspace}/datastores/{name}/test-connection",
    response={200: schemas.TestResult, **ERRORS},
    tags=["datastores"],
)
def datastore_test_connection(request: HttpRequest, workspace: str, name: str, write: bool = False) -> dict:
    """Check the stored credentials, and report what they can do (write and delete only with
    `write`: they write a temporary object and remove it again)."""
    datastore, _can = _datastore(request, workspace, name, Need.CHANGE)
    result = services.datastore_test_connection(datastore, actor=actor_of(request), write=write)
    abilities = [{"ability": ability, "can": can, "detail": detail} for ability, can, detail in result.abilities]
    return {"ok": result.ok, "message": result.message, "abilities": abilities}


@api.delete("/workspaces/{workspace}/datastores/{name}", response={204: None, **ERRORS}, tags=["datastores"])
def datastore_unregister(request: HttpRequest, workspace: str, name: str) -> Status:
    datastore, _can = _datastore(request, workspace, name, Need.MANAGE)
    services.datastore_unregister(datastore, actor=actor_of(request))
    return Status(204, None)


@api.post(
    "/workspaces/{workspace}/datastores/{name}/credentials",
    response={200: schemas.CredentialOut, **ERRORS},
    tags=["datastores"],
    summary="A short-lived SAS to reach the storage directly",
)
def datastore_credentials(
    request: HttpRequest, workspace: str, name: str, payload: schemas.CredentialIn
) -> ScriptCredential:
    datastore, can = _datastore(request, workspace, name, Need.CHANGE if payload.write else Need.VIEW)
    credential = services.datastore_credential_issue(
        datastore=datastore,
        actor=actor_of(request),
        write=payload.write,
        may_write=can.change,
        path=payload.path,
        lifetime_minutes=payload.lifetime_minutes,
    )
    return credential


# --- files ---------------------------------------------------------------------------------------------

BINARY = {"content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}}
RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def _entry_out(entry: Any) -> dict:
    return {
        "name": entry.name,
        "path": entry.path,
        "is_folder": entry.is_folder,
        "size": entry.size,
        "last_modified": entry.last_modified,
        "content_type": entry.content_type,
    }


@api.get(
    "/workspaces/{workspace}/datastores/{name}/folder", response={200: schemas.FolderPageOut, **ERRORS}, tags=["files"]
)
def folder_list(
    request: HttpRequest,
    workspace: str,
    name: str,
    path: str = Query("", max_length=1024),
    prefix: str = Query("", max_length=1024),
    continuation: str | None = Query(None, max_length=4096),
    page_size: int = Query(100, ge=1, le=MAX_PAGE),
) -> dict:
    datastore = _files(request, workspace, name)
    page = selectors.folder_page(
        datastore,
        path,
        actor=actor_of(request),
        name_prefix=prefix.strip(),
        continuation=continuation or None,
        page_size=page_size,
    )
    return {
        "folder": path.strip("/"),
        "entries": [_entry_out(entry) for entry in page.entries],
        "continuation": page.continuation,
    }


@api.post(
    "/workspaces/{workspace}/datastores/{name}/folders", response={201: schemas.FolderOut, **ERRORS}, tags=["files"]
)
def folder_create(request: HttpRequest, workspace: str, name: str, payload: schemas.FolderIn) -> Status:
    datastore = _files(request, workspace, name, Need.CHANGE)
    if not datastore.backend.capabilities.folders:
        raise Http404("Folders of this storage type exist only through the files in them.")
    folder = services.folder_create(
        datastore=datastore, parent=payload.parent, name=payload.name, actor=actor_of(request)
    )
    return Status(201, {"path": folder})


@api.get(
    "/workspaces/{workspace}/datastores/{name}/stat/{path:path}",
    response={200: schemas.EntryOut, **ERRORS},
    tags=["files"],
)
def file_stat(request: HttpRequest, workspace: str, name: str, path: str) -> dict:
    datastore = _files(request, workspace, name)
    return _entry_out(selectors.file_stat(datastore, path, actor=actor_of(request)))


def _range_of(header: str) -> tuple[int, int | None] | None:
    """A single `bytes=a-b` or `bytes=a-` range; None when there is no header."""
    if not header:
        return None
    match = RANGE.match(header.strip())
    if not match or not match.group(1):
        from ..storage import InvalidInput

        raise InvalidInput("Send one range of bytes from a position: Range: bytes=START-[END].", field="Range")
    start, end = int(match.group(1)), int(match.group(2)) if match.group(2) else None
    if end is not None and end < start:
        from ..storage import InvalidInput

        raise InvalidInput("The range ends before it starts.", field="Range")
    return start, end


@api.get(
    "/workspaces/{workspace}/datastores/{name}/files/{path:path}",
    response={**ERRORS},
    tags=["files"],
    openapi_extra={
        "responses": {
            200: {"description": "The file's bytes", **BINARY},
            206: {"description": "The bytes of the range", **BINARY},
        }
    },
    summary="Download a file (streamed; Range: bytes=START-[END])",
)
def file_download(request: HttpRequest, workspace: str, name: str, path: str) -> HttpResponseBase:
    datastore = _files(request, workspace, name)
    wanted = _range_of(request.headers.get("Range", ""))
    if wanted is None:
        download = selectors.file_download(datastore, path, actor=actor_of(request))
        response = StreamingHttpResponse(download.chunks, content_type=download.content_type)
    else:
        download = selectors.file_download_range(datastore, path, *wanted, actor=actor_of(request))
        response = StreamingHttpResponse(download.chunks, content_type=download.content_type, status=206)
        end = wanted[0] + download.size - 1 if download.size is not None else ""
        response["Content-Range"] = f"bytes {wanted[0]}-{end}/*"
    if download.size is not None:
        response["Content-Length"] = str(download.size)
    response["Accept-Ranges"] = "bytes"
    response["Content-Disposition"] = content_disposition_header(True, safe_filename(download.name))
    response["X-Content-Type-Options"] = "nosniff"
    return response


@api.put(
    "/workspaces/{workspace}/datastores/{name}/files/{path:path}",
    response={200: schemas.UploadOut, **ERRORS, 411: Problem},
    tags=["files"],
    openapi_extra={"requestBody": {"required": True, **BINARY}},
    summary="Upload a file (the body is streamed to storage; skipped when it exists unless overwrite)",
)
def file_upload(request: HttpRequest, workspace: str, name: str, path: str, overwrite: bool = False) -> Any:
    datastore = _files(request, workspace, name, Need.CHANGE)
    try:
        size = int(request.META.get("CONTENT_LENGTH") or "")
    except ValueError:
        return problem(request, 411, "Send the file with a Content-Length.")
    content_type = request.META.get("CONTENT_TYPE", "")
    outcome = services.file_upload(
        datastore=datastore,
        path=path,
        chunks=request_chunks(request, size, datastore.backend.upload_block_size),
        overwrite=overwrite,
        content_type="" if content_type in ("", "application/octet-stream") else content_type,
        size=size,
        actor=actor_of(request),
    )
    return {"outcome": str(outcome), "path": path}


@api.delete(
    "/workspaces/{workspace}/datastores/{name}/files/{path:path}",
    response={200: schemas.DeletedOut, **ERRORS},
    tags=["files"],
)
def file_delete(request: HttpRequest, workspace: str, name: str, path: str) -> dict:
    datastore = _files(request, workspace, name, Need.CHANGE)
    return {"path": services.file_delete(datastore=datastore, path=path, actor=actor_of(request))}


@api.get(
    "/workspaces/{workspace}/datastores/{name}/zip",
    response={**ERRORS},
    tags=["files"],
    openapi_extra={
        "responses": {
            200: {
                "description": "The folder as a zip",
                "content": {"application/zip": {"schema": {"type": "string", "format": "binary"}}},
            }
        }
    },
    summary="Download a folder as a zip, built on the fly",
)
def folder_zip(
    request: HttpRequest, workspace: str, name: str, path: str = Query("", max_length=1024)
) -> HttpResponseBase:
    datastore = _files(request, workspace, name)
    folder = selectors.folder_zip_started(datastore, path, actor=actor_of(request))
    archive = f"{folder.rpartition('/')[2] or datastore.name}.zip"
    return zip_response(datastore, selectors.folder_files(datastore, folder), folder, archive)


# --- tables ----------------------------------------------------------------------------------------------

CSV = {"content": {"text/csv": {"schema": {"type": "string"}}}}


def _csv(stream: Any, filename: str) -> StreamingHttpResponse:
    response = StreamingHttpResponse(stream, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = content_disposition_header(True, filename)
    response["Cache-Control"] = "no-store"
    return response


@api.get(
    "/workspaces/{workspace}/datastores/{name}/tables",
    response={200: schemas.TableListingOut, **ERRORS},
    tags=["tables"],
)
def tables_list(request: HttpRequest, workspace: str, name: str) -> dict:
    listing = selectors.tables_list(_tables(request, workspace, name), actor=actor_of(request))
    return {
        "schemas": [
            {
                "name": schema.name,
                "tables": [{"name": t.name, "kind": t.kind, "estimated_rows": t.estimated_rows} for t in schema.tables],
            }
            for schema in listing.schemas
        ],
        "truncated": listing.truncated,
    }


def _column_out(column: Any) -> dict:
    return {
        "name": column.name,
        "type": column.type,
        "nullable": column.nullable,
        "in_primary_key": column.in_primary_key,
    }


def _json_cell(value: Any) -> Any:
    """A cell as JSON: numbers, text, booleans and null as they are, anything else as the page shows it."""
    from ..storage.tables import cell_text

    if value is None or isinstance(value, bool | int | float | str):
        return value
    return cell_text(value)


@api.get(
    "/workspaces/{workspace}/datastores/{name}/tables/{schema_name}/{table}/columns",
    response={200: list[schemas.ColumnOut], **ERRORS},
    tags=["tables"],
)
def table_columns(request: HttpRequest, workspace: str, name: str, schema_name: str, table: str) -> list[dict]:
    columns = selectors.table_columns(_tables(request, workspace, name), schema_name, table, actor=actor_of(request))
    return [_column_out(column) for column in columns]


@api.get(
    "/workspaces/{workspace}/datastores/{name}/tables/{schema_name}/{table}/rows",
    response={200: schemas.RowsOut, **ERRORS},
    tags=["tables"],
)
def table_rows(
    request: HttpRequest,
    workspace: str,
    name: str,
    schema_name: str,
    table: str,
    page: int = Query(1, ge=1, le=1_000_000),
    page_size: int = Query(100, ge=1, le=500),
) -> dict:
    rows = selectors.table_preview(
        _tables(request, workspace, name), schema_name, table, actor=actor_of(request), page=page, page_size=page_size
    )
    return {
        "columns": [_column_out(column) for column in rows.columns],
        "rows": [[_json_cell(value) for value in row] for row in rows.rows],
        "page": rows.page,
        "page_size": rows.page_size,
        "has_next": rows.has_next,
    }


@api.get(
    "/workspaces/{workspace}/datastores/{name}/tables/{schema_name}/{table}/csv",
    response={**ERRORS},
    tags=["tables"],
    openapi_extra={"responses": {200: {"description": "The table as CSV, streamed", **CSV}}},
)
def table_csv(request: HttpRequest, workspace: str, name: str, schema_name: str, table: str) -> HttpResponseBase:
    stream = selectors.table_csv(_tables(request, workspace, name), schema_name, table, actor=actor_of(request))
    return _csv(stream, f"{table}.csv")


@api.post(
    "/workspaces/{workspace}/datastores/{name}/query",
    response={200: schemas.QueryOut, **ERRORS},
    tags=["tables"],
    openapi_extra={"responses": {200: CSV}},
    summary="Run one read-only statement (JSON rows, or CSV streamed)",
)
def query_run(request: HttpRequest, workspace: str, name: str, payload: schemas.QueryIn) -> Any:
    datastore = _tables(request, workspace, name, queries=True)
    timeout = int(settings.STORAGE_TIMEOUT_SECONDS)
    if payload.format == "csv":
        return _csv(
            selectors.query_csv(datastore, payload.statement, actor=actor_of(request), timeout=timeout),
            f"{datastore.name}-query.csv",
        )
    result = selectors.query_run(
        datastore, payload.statement, actor=actor_of(request), row_limit=payload.row_limit, timeout=timeout
    )
    return {
        "columns": result.column_names,
        "rows": [[_json_cell(value) for value in row] for row in result.rows],
        "row_limit": result.row_limit,
        "truncated": result.truncated,
        "elapsed_seconds": result.elapsed_seconds,
    }


# --- audit -------------------------------------------------------------------------------------------------


@api.get("/workspaces/{workspace}/audit", response={200: schemas.AuditPage, **ERRORS}, tags=["audit"])
def audit_list(
    request: HttpRequest,
    workspace: str,
    before: int | None = Query(None, ge=1, le=2**62, description="The next_cursor of the previous page."),
    limit: int = Query(50, ge=1, le=MAX_PAGE),
    actor: str = Query("", max_length=150),
    datastore: str = Query("", max_length=255),
    action: str = Query("", max_length=40),
) -> dict:
    found, can = access.workspace_for(actor_of(request), workspace, Need.VIEW)
    chosen = audit.AuditFilter(actor=actor, datastore=datastore, action=action)
    entries, next_cursor = audit.page_of(
        audit.entries(found, actor_of(request), everyone=can.manage, chosen=chosen), before=before, size=limit
    )
    items = [
        {
            "id": entry.id,
            "at": entry.at,
            "actor": entry.actor_name,
            "datastore": entry.datastore_name,
            "action": entry.action,
            "target": entry.target,
            "outcome": entry.outcome,
            "detail": entry.detail,
            "client_address": entry.client_address,
            "request_id": entry.request_id,
            "via": entry.via,
        }
        for entry in entries
    ]
    return {"items": items, "next_cursor": next_cursor}


def urls() -> Any:
    """The API's URL patterns, open to the login-required middleware (the API checks its own tokens)."""
    patterns, app_name, namespace = api.urls

    def open_all(items: list[Any]) -> None:
        for item in items:
            if hasattr(item, "url_patterns"):
                open_all(item.url_patterns)
            elif getattr(item, "callback", None) is not None:
                item.callback.login_required = False

    open_all(patterns)
    return patterns, app_name, namespace
