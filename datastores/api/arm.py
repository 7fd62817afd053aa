"""Azure ML's own datastore routes (Azure Resource Manager shapes), so that the unmodified
azure-ai-ml SDK v2 works against the studio:

    PUT, GET, DELETE  /subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.MachineLearningServices/
                      workspaces/{workspace}/datastores/{name}
    GET               …/datastores  (count, isDefault, orderByAsc, $skip; nextLink paging)
    POST              …/datastores/{name}/listSecrets  (a short-lived SAS, never a stored key or secret)

How each storage type is spelled here is its backend's declared `arm` shape (storage/*/); this
module only translates. Types SDK v2 does not model (no `arm` shape declared) are left out of these lists.
The same access.py, services and selectors as the pages and /api/v1/; errors are ARM bodies.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from .. import access, services, tokens
from ..access import Actor, Need, RoleRequired
from ..models import Datastore, Workspace
from ..storage import BACKENDS, StorageBackend, StorageError, arm_backend
from .limits import too_many
from .problems import BEARER_CHALLENGE

RESOURCE_TYPE = "Microsoft.MachineLearningServices/workspaces/datastores"
# azure-ai-ml 1.35 sends 2024-10-01-preview for datastores (2025-12-01 is its client default); any
# dated version is answered the same way, as these shapes have not changed between them.
API_VERSION = re.compile(r"^\d{4}-\d{2}-\d{2}(-preview)?$")
DEFAULT_COUNT, MAX_COUNT = 30, 100

ARM_CODES = {
    400: "BadRequest",
    401: "AuthenticationFailed",
    403: "AuthorizationFailed",
    404: "ResourceNotFound",
    409: "Conflict",
    411: "LengthRequired",
    413: "RequestEntityTooLarge",
    429: "TooManyRequests",
}


def arm_error(
    status: int, message: str, code: str | None = None, headers: dict[str, str] | None = None
) -> JsonResponse:
    response = JsonResponse(
        {"error": {"code": code or ARM_CODES.get(status, "ServiceError"), "message": message}}, status=status
    )
    for name, value in (headers or {}).items():
        response[name] = value
    return response


class ArmRefused(Exception):
    def __init__(self, status: int, message: str, code: str | None = None):
        super().__init__(message)
        self.status, self.message, self.code = status, message, code


def arm_view(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Token, api-version, subscription and resource group checked; every error an ARM body."""

    @csrf_exempt
    @login_not_required
    @wraps(view)
    def wrapped(request: HttpRequest, subscription: str, resource_group: str, **kwargs: Any) -> HttpResponse:
        token = tokens.token_from_bearer(tokens.bearer_of(request))
        if token is None:
            address = access.client_address(request) or "-"
            if too_many(request, group="api.refused", key=address, rate=settings.API_REFUSED_RATE_LIMIT):
                return arm_error(429, "Too many requests.", headers={"Retry-After": "60"})
            return arm_error(
                401,
                "Send a valid access token: Authorization: Bearer <token>.",
                code="InvalidAuthenticationToken",
                headers={"WWW-Authenticate": BEARER_CHALLENGE},
            )
        if too_many(request, group="api.token", key=str(token.pk), rate=settings.API_RATE_LIMIT):
            return arm_error(429, "Too many requests.", headers={"Retry-After": "60"})
        actor = tokens.actor_for(request, token)
        services.token_used(actor=actor, token=token)
        version = request.GET.get("api-version", "")
        if not version:
            return arm_error(400, "The api-version query parameter is required.", code="MissingApiVersionParameter")
        if not API_VERSION.match(version):
            return arm_error(400, f"The api-version {version!r} is not valid.", code="InvalidApiVersionParameter")
        if (
            subscription.lower() != settings.STUDIO_SUBSCRIPTION_ID.lower()
            or resource_group.lower() != settings.STUDIO_RESOURCE_GROUP.lower()
        ):
            return arm_error(
                404,
                "This studio has no such subscription or resource group. Download config.json from the workspace page.",
                code="ResourceGroupNotFound",
            )
        try:
            return view(request, actor, **kwargs)
        except ArmRefused as refused:
            return arm_error(refused.status, refused.message, refused.code)
        except RoleRequired as refused:
            return arm_error(403, str(refused))
        except Http404 as missing:
            return arm_error(404, str(missing) or "Not found.")
        except StorageError as failure:
            return arm_error(failure.status, failure.message, code="ValidationError" if failure.status == 400 else None)
        except forms.ValidationError as invalid:
            messages = invalid.message_dict if hasattr(invalid, "error_dict") else {"": invalid.messages}
            text = "; ".join(
                f"{field}: {message}" if field else message for field, items in messages.items() for message in items
            )
            return arm_error(400, text, code="ValidationError")

    return wrapped


# --- translation, from each backend's declared shape --------------------------------------------


def resource_id(workspace: Workspace, name: str = "") -> str:
    base = (
        f"/subscriptions/{settings.STUDIO_SUBSCRIPTION_ID}/resourceGroups/{settings.STUDIO_RESOURCE_GROUP}"
        f"/providers/Microsoft.MachineLearningServices/workspaces/{workspace.name}/datastores"
    )
    return f"{base}/{name}" if name else base


def arm_types() -> list[str]:
    return [storage_type for storage_type, backend in BACKENDS.items() if backend.arm]


def to_arm(datastore: Datastore) -> dict[str, Any]:
    backend = datastore.backend
    shape = backend.arm
    assert shape is not None
    settings_ = datastore.connection_settings
    properties: dict[str, Any] = {
        "datastoreType": shape.datastore_type,
        "description": None,
        "tags": {},
        "properties": {},
    }
    properties.update(
        {arm: settings_[field] for arm, field in shape.properties.items() if settings_.get(field) not in (None, "")}
    )
    credentials_type = next((arm for arm, auth in shape.credentials.items() if auth == datastore.auth_type), "None")
    credentials: dict[str, Any] = {"credentialsType": credentials_type}
    declared = backend.auth_method(datastore.auth_type).fields
    credentials.update(
        {arm: settings_.get(field) for arm, field in shape.credential_properties.items() if field in declared}
    )
    properties["credentials"] = credentials
    properties["isDefault"] = datastore.is_default
    creator = datastore.created_by.get_username() if datastore.created_by else ""
    return {
        "id": resource_id(datastore.workspace, datastore.name),
        "name": datastore.name,
        "type": RESOURCE_TYPE,
        "systemData": {
            "createdAt": datastore.created_at.isoformat(),
            "createdBy": creator,
            "createdByType": "User",
            "lastModifiedAt": datastore.updated_at.isoformat(),
            "lastModifiedBy": creator,
            "lastModifiedByType": "User",
        },
        "properties": properties,
    }


def from_arm(body: Any, *, skip_validation: bool) -> tuple[StorageBackend, str, dict[str, Any]]:
    """The storage type, authentication type and cleaned values of an ARM datastore body."""
    properties = body.get("properties") if isinstance(body, dict) else None
    if not isinstance(properties, dict):
        raise ArmRefused(400, "The body needs a properties object.", "InvalidRequestContent")
    kind = properties.get("datastoreType")
    backend = arm_backend(kind) if isinstance(kind, str) else None
    if backend is None or backend.arm is None:
        offered = ", ".join(b.arm.datastore_type for b in BACKENDS.values() if b.arm)
        raise ArmRefused(
            400, f"The datastoreType {kind!r} is not one this studio offers here ({offered}).", "ValidationError"
        )
    shape = backend.arm
    credentials = given if isinstance(given := properties.get("credentials"), dict) else {}
    credentials_type = credentials.get("credentialsType")
    auth_type = shape.credentials.get(credentials_type) if isinstance(credentials_type, str) else None
    if auth_type is None:
        raise ArmRefused(
            400,
            f"This datastoreType takes credentials of type {' or '.join(shape.credentials)} "
            f"(not {credentials_type!r}).",
            "ValidationError",
        )
    secrets = given if isinstance(given := credentials.get("secrets"), dict) else {}
    raw: dict[str, Any] = {
        field: properties[arm] for arm, field in shape.properties.items() if properties.get(arm) not in (None, "")
    }
    raw.update(
        {
            field: credentials[arm]
            for arm, field in shape.credential_properties.items()
            if credentials.get(arm) not in (None, "")
        }
    )
    raw.update({field: secrets[arm] for arm, field in shape.secrets.items() if secrets.get(arm)})
    if "skip_validation" in backend.options:
        raw["skip_validation"] = skip_validation
    return (
        backend,
        str(auth_type),
        backend.clean_values(
            auth_type,
            {name: value if not isinstance(value, (dict, list)) else str(value) for name, value in raw.items()},
        ),
    )


def _json_body(request: HttpRequest) -> Any:
    try:
        return json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError):
        raise ArmRefused(400, "The body is not JSON.", "InvalidRequestContent") from None


# --- the routes ---------------------------------------------------------------------------------------


def _arm_datastore(actor: Actor, workspace: str, name: str, need: Need) -> tuple[Datastore, access.Permissions]:
    datastore, can = access.datastore_for(actor, workspace, name, need)
    if datastore.storage_type not in arm_types():
        raise Http404(f"The datastore {name!r} is of a type Azure ML's datastore API does not model; use /api/v1/.")
    return datastore, can


@arm_view
def datastore_collection(request: HttpRequest, actor: Actor, workspace: str) -> HttpResponse:
    if request.method != "GET":
        return arm_error(405, f"{request.method} is not allowed here.", code="MethodNotAllowed")
    found, _can = access.workspace_for(actor, workspace, Need.VIEW)
    datastores = found.datastores.filter(storage_type__in=arm_types()).select_related("created_by", "workspace")
    if request.GET.get("isDefault", "").lower() == "true":
        datastores = datastores.filter(is_default=True)
    ascending = request.GET.get("orderByAsc", "false").lower() == "true"
    try:
        count = min(max(int(request.GET.get("count") or DEFAULT_COUNT), 1), MAX_COUNT)
    except ValueError:
        raise ArmRefused(400, "count is a whole number.", "InvalidQueryParameterValue") from None
    skip = request.GET.get("$skip", "")
    if skip:
        datastores = datastores.filter(name__gt=skip) if ascending else datastores.filter(name__lt=skip)
    rows = list(datastores.order_by("name" if ascending else "-name")[: count + 1])
    body: dict[str, Any] = {"value": [to_arm(datastore) for datastore in rows[:count]]}
    if len(rows) > count:
        query = {key: value for key, value in request.GET.items() if key != "$skip"}
        query["$skip"] = rows[count - 1].name
        body["nextLink"] = request.build_absolute_uri(request.path) + "?" + urlencode(query)
    return JsonResponse(body)


@arm_view
def datastore_item(request: HttpRequest, actor: Actor, workspace: str, name: str) -> HttpResponse:
    if request.method == "GET":
        datastore, _can = _arm_datastore(actor, workspace, name, Need.VIEW)
        return JsonResponse(to_arm(datastore))
    if request.method == "DELETE":
        try:
            datastore, _can = _arm_datastore(actor, workspace, name, Need.MANAGE)
        except Http404:
            access.workspace_for(actor, workspace, Need.VIEW)  # a missing workspace is still 404
            return HttpResponse(status=204)  # ARM: deleting what is not there succeeds
        services.datastore_unregister(datastore, actor=actor)
        return HttpResponse(status=200)
    if request.method == "PUT":
        found, _can = access.workspace_for(actor, workspace, Need.CHANGE)
        backend, auth_type, values = from_arm(
            _json_body(request), skip_validation=request.GET.get("skipValidation", "").lower() == "true"
        )
        name_field = forms.CharField(max_length=255, validators=[*Datastore._meta.get_field("name").validators])
        try:
            name_field.clean(name)
        except forms.ValidationError as invalid:
            raise ArmRefused(400, f"name: {invalid.messages[0]}", "ValidationError") from None
        existed = found.datastores.filter(name=name).exists()
        datastore = services.datastore_register(
            workspace=found,
            name=name,
            storage_type=backend.storage_type,
            auth_type=auth_type,
            values=values,
            overwrite=True,
            actor=actor,
        )
        datastore.refresh_from_db()
        return JsonResponse(to_arm(datastore), status=200 if existed else 201)
    return arm_error(405, f"{request.method} is not allowed here.", code="MethodNotAllowed")


@arm_view
def datastore_list_secrets(request: HttpRequest, actor: Actor, workspace: str, name: str) -> HttpResponse:
    if request.method != "POST":
        return arm_error(405, f"{request.method} is not allowed here.", code="MethodNotAllowed")
    datastore, can = _arm_datastore(actor, workspace, name, Need.VIEW)
    body = _json_body(request)
    hours = body.get("expireAfterHours") if isinstance(body, dict) else None
    limit = settings.API_CREDENTIAL_MAX_MINUTES
    minutes = min(int(hours) * 60, limit) if isinstance(hours, int) and hours > 0 else limit
    credential = services.datastore_credential_issue(
        datastore=datastore, actor=actor, write=can.change, may_write=can.change, lifetime_minutes=minutes
    )
    return JsonResponse({"secretsType": "Sas", "sasToken": credential.sas_token})
