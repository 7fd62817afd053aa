"""What every storage type module declares, and the types they exchange.

A storage type module builds one `StorageBackend` instance: its label, the
connection fields every authentication method shares, the credential fields
of each authentication method, the options, and the calls that reach the
service (validation now; browsing and transfer as they are built).
"""

from __future__ import annotations

import copy
import enum
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django import forms

from ..choices import AuthType
from .fields import SecretField


class StorageError(Exception):
    """The service refused or could not be reached; the message says what to fix.

    `field` names the form field at fault, when one is.
    The message never contains a secret or the raw exception text.
    """

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class ServiceCheckFailed(StorageError):
    """A check of the credentials against the service failed."""


class StoredSettingsInvalid(Exception):
    """A stored datastore row does not parse under its storage type's fields."""


@dataclass(frozen=True)
class AuthMethod:
    auth_type: AuthType
    fields: dict[str, forms.Field]


@dataclass(frozen=True)
class Connection:
    """Everything needed to reach a datastore: parsed settings plus decrypted secrets."""

    storage_type: str
    auth_type: AuthType
    values: Mapping[str, Any]

    def __getitem__(self, name: str) -> Any:
        return self.values[name]

    def get(self, name: str, default: Any = None) -> Any:
        return self.values.get(name, default)


@dataclass(frozen=True)
class Entry:
    """One row of a folder listing."""

    name: str
    path: str
    is_folder: bool
    size: int | None = None
    last_modified: datetime | None = None
    content_type: str = ""


@dataclass(frozen=True)
class FolderPage:
    entries: list[Entry] = field(default_factory=list)
    continuation: str | None = None


@dataclass
class Download:
    """A file being read from storage, chunk by chunk."""

    name: str
    size: int | None
    content_type: str
    chunks: Iterator[bytes]


class UploadOutcome(enum.StrEnum):
    UPLOADED = "uploaded"
    SKIPPED = "skipped"  # it existed and overwrite was off


class StorageBackend:
    """Base for one storage type. Subclasses fill in the class attributes."""

    storage_type: str = ""
    label: str = ""
    connection_fields: dict[str, forms.Field] = {}
    auth_methods: tuple[AuthMethod, ...] = ()
    options: dict[str, forms.Field] = {}
    # Connection fields most people leave alone, shown folded under "Advanced".
    advanced_fields: tuple[str, ...] = ()
    # Fields that say where a secret is sent; changing one requires re-typing the secret.
    reach_fields: tuple[str, ...] = ()
    # SQL types have a Tables tab (schemas, tables, previews, read-only queries).
    has_tables: bool = False
    # ADLS validates on first use (as Azure ML does) unless the user asks now.
    validation_deferred: bool = False
    # Shown on the form and on the datastore's page (e.g. a retirement notice).
    notice: str = ""
    # Bytes one upload request carries. upload() takes chunks of any size, but chunks of
    # exactly this size pass through without being copied into blocks.
    upload_block_size: int = 4 * 1024 * 1024

    # --- declarations -------------------------------------------------------------

    @property
    def auth_types(self) -> list[AuthType]:
        return [method.auth_type for method in self.auth_methods]

    def auth_method(self, auth_type: str) -> AuthMethod:
        for method in self.auth_methods:
            if method.auth_type == auth_type:
                return method
        raise KeyError(auth_type)

    def form_fields(self, auth_type: str) -> dict[str, forms.Field]:
        """Fresh field instances for the form, in display order."""
        declared = {**self.connection_fields, **self.auth_method(auth_type).fields, **self.options}
        return {name: copy.deepcopy(form_field) for name, form_field in declared.items()}

    def clean_values(self, auth_type: str, raw: Mapping[str, Any]) -> dict[str, Any]:
        """Clean raw values through the declared fields (missing ones take their initial value)."""
        values, errors = {}, {}
        for name, form_field in self.form_fields(auth_type).items():
            value = raw.get(name)
            try:
                values[name] = form_field.clean(form_field.initial if value is None else value)
            except forms.ValidationError as error:
                errors[name] = error.messages
        if errors:
            raise forms.ValidationError(errors)
        return values

    def setting_names(self, auth_type: str) -> list[str]:
        """Names stored in the clear: connection fields and credential fields that are not secret."""
        stored = {**self.connection_fields, **self.auth_method(auth_type).fields}
        return [name for name, form_field in stored.items() if not isinstance(form_field, SecretField)]

    def secret_names(self, auth_type: str) -> list[str]:
        return [
            name
            for name, form_field in self.auth_method(auth_type).fields.items()
            if isinstance(form_field, SecretField)
        ]

    def parse_stored(self, auth_type: str, settings: Mapping[str, Any], secrets: Mapping[str, str]) -> Connection:
        """Parse a stored row strictly through the same fields that validated it on write."""
        try:
            method = self.auth_method(auth_type)
        except KeyError:
            raise StoredSettingsInvalid(f"{self.label} has no authentication type {auth_type!r}.") from None
        declared = {**self.connection_fields, **method.fields}
        unknown = set(settings) - set(self.setting_names(auth_type))
        if unknown:
            raise StoredSettingsInvalid(f"Unknown stored settings: {', '.join(sorted(unknown))}.")
        values: dict[str, Any] = {}
        for name, form_field in declared.items():
            raw = secrets.get(name) if isinstance(form_field, SecretField) else settings.get(name)
            try:
                values[name] = form_field.clean(raw)
            except forms.ValidationError as error:
                raise StoredSettingsInvalid(f"Stored setting {name!r} is invalid: {error.messages[0]}") from None
        return Connection(self.storage_type, AuthType(auth_type), values)

    # --- what the list and detail pages show ---------------------------------------

    def location(self, settings: Mapping[str, Any]) -> str:
        """Where the data lives, e.g. 'account/container', for the datastore list."""
        return ""

    def page_notice(self, settings: Mapping[str, Any]) -> str:
        return self.notice

    def script_snippet(self, datastore_name: str, settings: Mapping[str, Any]) -> str:
        return (
            "from azureml.core import Workspace, Datastore\n\n"
            "ws = Workspace.from_config()\n"
            f"datastore = Datastore.get(ws, datastore_name={datastore_name!r})\n"
        )

    # --- calls to the service ------------------------------------------------------

    def wants_check(self, options: Mapping[str, Any]) -> bool:
        """Whether registering with these options checks the service first."""
        if self.validation_deferred:
            return bool(options.get("validate_now"))
        return "skip_validation" in self.options and not options.get("skip_validation")

    def check_connection(self, connection: Connection) -> None:
        """Prove the credentials reach the data; raise ServiceCheckFailed otherwise."""
        raise ServiceCheckFailed(
            f"This studio cannot validate {self.label} yet. "
            "Tick \"Skip validation\" to register it without a check.",
            field="skip_validation" if "skip_validation" in self.options else None,
        )

    # --- browsing and transfer (types whose data are files) ---------------------------
    # Paths are relative to the datastore's root, "/"-separated, without leading or
    # trailing slashes, already checked by paths.clean_path. "" is the root.

    @property
    def browsable(self) -> bool:
        return type(self).list_folder is not StorageBackend.list_folder

    def list_folder(
        self, connection: Connection, folder: str, *, name_prefix: str = "", continuation: str | None = None, page_size: int = 200
    ) -> FolderPage:
        """One page of a folder: subfolders first, then files. Never lists more than one page."""
        raise NotImplementedError

    def walk_files(self, connection: Connection, folder: str) -> Iterator[Entry]:
        """Every file below a folder, recursively, lazily (for folder downloads)."""
        raise NotImplementedError

    def download(self, connection: Connection, path: str) -> Download:
        raise NotImplementedError

    def upload(
        self,
        connection: Connection,
        path: str,
        chunks: Iterable[bytes],
        *,
        overwrite: bool,
        content_type: str = "",
        size: int | None = None,
    ) -> UploadOutcome:
        """Write a file from chunks. SKIPPED when it exists and overwrite is off, decided by the
        service (a conditional request), not by an earlier look. A failed upload leaves nothing visible.
        `size`, when known, lets services that allocate a file up front (Azure Files) do so."""
        raise NotImplementedError

    def delete(self, connection: Connection, path: str) -> None:
        raise NotImplementedError

    @property
    def has_real_folders(self) -> bool:
        """Folders exist on their own (ADLS, DBFS), so the pages offer "New folder"."""
        return type(self).create_folder is not StorageBackend.create_folder

    def create_folder(self, connection: Connection, path: str) -> None:
        raise NotImplementedError
