"""The API's typed schemas. The datastore bodies are generated from each storage type's declared
fields (connection fields, each authentication method's credentials, options), so a new storage
type appears in the OpenAPI document without a line here; SecretFields are write-only.

Values are checked twice: pydantic checks their JSON types, then the storage type's own form
fields clean them (`clean_values`), so the API refuses what the form refuses, with its message.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Annotated, Any, Literal, Union, cast

from django import forms
from ninja import Field, Schema
from pydantic import Discriminator, Tag, create_model
from pydantic.json_schema import JsonDict

from ..models import Role
from ..storage import BACKENDS, StorageBackend
from ..storage.fields import SecretField, is_registration_only

MAX_PAGE = 200


class Problem(Schema):
    """RFC 9457 problem details (application/problem+json)."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    instance: str
    field: str | None = None
    errors: list[dict[str, Any]] | None = None


# --- workspaces and members ---------------------------------------------------------------


class WorkspaceOut(Schema):
    name: str
    description: str
    created_at: datetime
    role: Role | None = Field(None, description="Your role in it (as this token acts).")


class WorkspaceIn(Schema):
    name: str = Field(..., max_length=200)
    description: str = Field("", max_length=10_000)


class WorkspacePage(Schema):
    items: list[WorkspaceOut]
    next_cursor: str | None


class MemberOut(Schema):
    username: str
    email: str
    role: Role
    added_at: datetime


class MemberIn(Schema):
    who: str = Field(..., max_length=254, description="Username or email of an existing user.")
    role: Role = Role.READER


class MemberRoleIn(Schema):
    role: Role


class MemberPage(Schema):
    items: list[MemberOut]
    next_cursor: str | None


# --- datastores ---------------------------------------------------------------------------------


class SecretOut(Schema):
    field: str
    label: str
    updated_at: datetime | None


class LastCheck(Schema):
    ok: bool | None
    message: str
    at: datetime | None


class DatastoreOut(Schema):
    name: str
    storage_type: str
    storage_type_label: str
    auth_type: str
    is_default: bool
    location: str
    settings: dict[str, Any] = Field(..., description="Non-secret connection settings.")
    secrets: list[SecretOut] = Field(..., description="Which secrets are stored (never their values).")
    capabilities: dict[str, bool]
    last_check: LastCheck
    created_at: datetime
    updated_at: datetime


class DatastorePage(Schema):
    items: list[DatastoreOut]
    next_cursor: str | None


class DefaultIn(Schema):
    name: str = Field(..., max_length=255)


class Ability(Schema):
    ability: str
    can: bool | None = Field(description="null when not tried (write and delete are tried only when asked)")
    detail: str


class TestResult(Schema):
    ok: bool
    message: str
    abilities: list[Ability] = []


class CredentialIn(Schema):
    write: bool = Field(False, description="Ask for write, add, create and delete too (contributors and owners).")
    path: str = Field("", max_length=1024, description="Limit the SAS to one file; empty: the whole container.")
    lifetime_minutes: int | None = Field(None, description="At most API_CREDENTIAL_MAX_MINUTES (default 60).")


class CredentialOut(Schema):
    kind: Literal["sas"] = "sas"
    sas_token: str
    expires_on: datetime
    permissions: str
    resource_url: str
    stored: bool = Field(
        ...,
        description="True: the datastore's own stored credential, handed on as it is (neither scoped nor short-lived).",
    )


# --- files --------------------------------------------------------------------------------------


class EntryOut(Schema):
    name: str
    path: str
    is_folder: bool
    size: int | None
    last_modified: datetime | None
    content_type: str


class FolderPageOut(Schema):
    folder: str
    entries: list[EntryOut]
    continuation: str | None = Field(..., description="Pass it back as ?continuation= for the next page.")


class FolderIn(Schema):
    parent: str = Field("", max_length=1024)
    name: str = Field(..., max_length=255)


class FolderOut(Schema):
    path: str


class UploadOut(Schema):
    outcome: Literal["uploaded", "skipped"]
    path: str


class DeletedOut(Schema):
    path: str


# --- tables -------------------------------------------------------------------------------------


class TableOut(Schema):
    name: str
    kind: str
    estimated_rows: int | None


class SchemaOut(Schema):
    name: str
    tables: list[TableOut]


class TableListingOut(Schema):
    schemas: list[SchemaOut]
    truncated: bool


class ColumnOut(Schema):
    name: str
    type: str
    nullable: bool
    in_primary_key: bool


class RowsOut(Schema):
    columns: list[ColumnOut]
    rows: list[list[Any]]
    page: int
    page_size: int
    has_next: bool


class QueryIn(Schema):
    statement: str = Field(..., max_length=100_000)
    row_limit: int = Field(1000, ge=1, le=10_000)
    format: Literal["json", "csv"] = "json"


class QueryOut(Schema):
    columns: list[str]
    rows: list[list[Any]]
    row_limit: int
    truncated: bool
    elapsed_seconds: float


# --- audit --------------------------------------------------------------------------------------


class AuditOut(Schema):
    id: int
    at: datetime
    actor: str
    datastore: str
    action: str
    target: str
    outcome: str
    detail: str
    client_address: str | None
    request_id: str
    via: str


class AuditPage(Schema):
    items: list[AuditOut]
    next_cursor: int | None


# --- datastore bodies, from the storage types' declared fields ---------------------------------


def _json_type(form_field: forms.Field) -> Any:
    if isinstance(form_field, forms.BooleanField):
        return bool
    if isinstance(form_field, forms.IntegerField):
        return int
    if isinstance(form_field, forms.ChoiceField):
        choices = cast("Iterable[tuple[object, object]]", form_field.choices)  # a list once the field is built
        values = tuple(str(value) for value, _label in choices if value != "")
        return Literal[values] if values else str
    return str


def _field_spec(form_field: forms.Field, *, optional: bool = False) -> tuple[Any, Any]:
    """(annotation, FieldInfo) for one declared form field."""
    kind = _json_type(form_field)
    description = ": ".join(str(text) for text in (form_field.label, form_field.help_text) if text)
    extra: JsonDict | None = {"writeOnly": True, "format": "password"} if isinstance(form_field, SecretField) else None
    required = form_field.required and form_field.initial is None and not optional
    if required:
        return kind, Field(..., description=description, json_schema_extra=extra)
    default = form_field.initial if form_field.initial is not None and not optional else None
    return kind | None, Field(default, description=description, json_schema_extra=extra)


def _model_name(backend: StorageBackend, auth_type: str, purpose: str) -> str:
    camel = "".join(part.capitalize() for part in auth_type.split("_"))
    return f"{purpose}{backend.storage_type}{camel}"


def tag_of(value: Any) -> str:
    """The union member a body is for: "<storage type>/<authentication type>"."""
    if isinstance(value, dict):
        return f"{value.get('storage_type')}/{value.get('auth_type')}"
    return f"{getattr(value, 'storage_type', None)}/{getattr(value, 'auth_type', None)}"


# union tag -> (backend, auth type), to find the form field a validation error is about
BODY_MODELS: dict[str, tuple[StorageBackend, str]] = {}


def _body_union(purpose: str, *, updating: bool) -> Any:
    members = []
    for backend in BACKENDS.values():
        for auth_type in backend.auth_types:
            specs: dict[str, Any] = {
                "storage_type": (Literal[backend.storage_type], Field(..., description=backend.label)),
                "auth_type": (Literal[str(auth_type)], Field(..., description=auth_type.label)),
            }
            if not updating:
                specs["name"] = (str, Field(..., max_length=255, description="Datastore name."))
                specs["overwrite"] = (bool, Field(False, description="Replace a datastore of the same name."))
            for name, form_field in backend.form_fields(auth_type, updating=updating).items():
                if updating and is_registration_only(form_field):
                    continue
                # Updating, a blank secret keeps the stored one.
                specs[name] = _field_spec(form_field, optional=updating and isinstance(form_field, SecretField))
            model_name = _model_name(backend, auth_type, purpose)
            model = create_model(model_name, __base__=Schema, **specs)
            tag = f"{backend.storage_type}/{auth_type}"
            BODY_MODELS[tag] = (backend, str(auth_type))
            members.append(Annotated[model, Tag(tag)])
    return Annotated[
        # A union of a list built at run time has no `X | Y` spelling.
        Union[tuple(members)],  # noqa: UP007
        Discriminator(tag_of),
    ]


RegisterBody = _body_union("Register", updating=False)
UpdateAuthBody = _body_union("Authentication", updating=True)
