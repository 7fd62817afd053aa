"""What every storage type declares, and the types they exchange.

A storage type package builds one `StorageBackend` instance: its label, the
connection fields every authentication method shares, the credential fields
of each authentication method, the options, what it can do (`capabilities`),
and the calls that reach the service. See README.md beside this file.
"""

from __future__ import annotations

import copy
import enum
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django import forms

from . import network
from .auth import AuthType
from .errors import Conflict, StoredSettingsInvalid, Unreachable
from .fields import SecretField, is_registration_only
from .tables import ColumnInfo, CsvStream, QueryResult, RowsPage, TableListing

# Validation errors whose message already says what is stored and what happened
# ("The SAS token expired on ..."), shown as they are when a stored value fails them.
SELF_EXPLAINING_CODES = {"expired_sas"}


@dataclass(frozen=True)
class Capabilities:
    """What a storage type can do; pages, commands and the API ask this, never the class.

    A backend that declares a capability implements the calls listed beside it.
    """

    browse: bool = False  # list_folder, walk_files, download
    upload: bool = False  # upload
    delete: bool = False  # delete
    folders: bool = False  # create_folder: folders exist on their own (elsewhere they appear with their first file)
    delete_folders: bool = False  # delete_folder: a folder with everything in it
    move: bool = False  # move: rename or move a file or folder within the datastore, the source removed last
    properties: bool = False  # properties: size, type, dates, ETag or version, metadata, URL
    read_range: bool = False  # read_range: a bounded piece of a file, for previews
    tables: bool = False  # list_tables, table_columns, preview_rows, stream_table_csv
    queries: bool = False  # run_readonly_query, stream_query_csv
    deferred_validation: bool = False  # checked on first use unless "Validate now" is ticked
    # direct_unavailable, direct_origin, direct_grant, cors_allows, cors_allow: a browser
    # uploads and downloads straight to and from the service with a SAS for one file
    browser_direct_transfers: bool = False
    # with browser_direct_transfers: only downloads go direct, uploads go through the studio
    # (Azure Files has no block commit: a file is created at its size, then written range by range,
    # so a browser's cut-off upload would leave a partial file)
    direct_downloads_only: bool = False
    script_credentials: bool = False  # script_credential: a short-lived credential to reach storage directly
    blob_protocol_paths: bool = False  # that credential speaks the Blob protocol: azureml:// paths (adlfs) work
    read_urls: bool = False  # read_url: a short-lived URL from which another storage service reads a file
    copy_from_url: bool = False  # copy_from_url: the service copies a file from such a URL itself (no bytes through us)

    @property
    def moves_files(self) -> bool:
        """Whether the upload and download commands can work with it."""
        return self.browse and self.upload


@dataclass(frozen=True)
class AuthMethod:
    auth_type: AuthType
    fields: dict[str, forms.Field]
    # What the form says under the authentication type (read when the form is shown: it may
    # depend on the studio's configuration, e.g. which identity the studio acts as).
    explanation: Callable[[], str] | None = None
    # Why the studio does not offer this method now (a setting turned it off), or "" when it does.
    unavailable: Callable[[], str] | None = None


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


@dataclass(frozen=True)
class FileProperties:
    """What the properties panel shows of one file. `url` never carries a credential."""

    name: str
    path: str
    size: int | None
    content_type: str = ""
    last_modified: datetime | None = None
    etag: str = ""  # an ETag, or a version where the service has no ETag
    metadata: Mapping[str, str] = field(default_factory=dict)
    url: str = ""


@dataclass(frozen=True)
class CredentialFacts:
    """What the stored credential says of itself (a SAS token's expiry, permissions...), never a secret."""

    label: str = ""  # what the credential is called ("SAS token")
    expires_at: datetime | None = None
    rows: list[tuple[str, str]] = field(default_factory=list)


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


@dataclass(frozen=True)
class ScriptCredential:
    """A credential a script uses to go to storage directly: a SAS for `resource_url`."""

    sas_token: str
    expires_on: datetime
    permissions: str  # the SAS's own letters (sp), e.g. "rl" or "racwdl"
    resource_url: str  # the container, share, filesystem or file the SAS is for
    # The datastore's own stored SAS, handed on as it is (neither scoped nor short-lived):
    # it is the only credential there is, and it may write, so only contributors get it.
    stored: bool = False


@dataclass(frozen=True)
class DirectGrant:
    """What a browser needs to move one file straight to or from storage: the file's URL with a
    SAS for it alone, its letters (sp) and when it expires."""

    url: str
    permissions: str
    expires_on: datetime


class CorsState(enum.Enum):
    """What the storage account's CORS rules say of the studio's origin."""

    ALLOWED = "allowed"
    MISSING = "missing"  # read, and no rule lets the studio's origin in
    UNKNOWN = "unknown"  # the credential cannot read the rules: the browser finds out


@dataclass(frozen=True)
class ArmShape:
    """How Azure ML's REST API (ARM) and its SDK v2 spell this storage type: the
    `datastoreType`, the properties that carry connection fields, and for each
    `credentialsType` the authentication type, its non-secret properties and its secrets."""

    datastore_type: str  # e.g. "AzureBlob"
    properties: dict[str, str]  # ARM property -> connection field, e.g. "containerName" -> "container_name"
    credentials: dict[str, AuthType]  # credentialsType (and secretsType) -> authentication type
    credential_properties: dict[str, str] = field(default_factory=dict)  # e.g. "tenantId" -> "tenant_id"
    secrets: dict[str, str] = field(
        default_factory=dict
    )  # secrets property -> secret field, e.g. "key" -> "account_key"


@dataclass(frozen=True)
class WorkspaceStore:
    """A datastore every new workspace gets on the workspace storage account
    (workspaceblobstore, workspacefilestore), as a backend proposes it."""

    name: str
    storage_type: str
    auth_type: AuthType
    values: dict[str, Any]  # cleaned, options included
    is_default: bool = False
    # Why it is registered without a check, when it is (shown on its page).
    unchecked_reason: str = ""


class StorageBackend:
    """Base for one storage type. Subclasses fill in the class attributes."""

    storage_type: str = ""
    label: str = ""
    capabilities: Capabilities = Capabilities()
    connection_fields: dict[str, forms.Field] = {}
    auth_methods: tuple[AuthMethod, ...] = ()
    options: dict[str, forms.Field] = {}
    # Connection fields most people leave alone, folded under `advanced_label`.
    advanced_fields: tuple[str, ...] = ()
    advanced_label: str = "Advanced"
    # Every field that says where a secret is sent; changing one requires re-typing the secret.
    reach_fields: tuple[str, ...] = ()
    # Shown on the form and on the datastore's page (e.g. a retirement notice).
    notice: str = ""
    # The authentication types whose stored credential carries facts in the clear
    # (`credential_facts`); the others' secrets are never decrypted to show a list.
    credential_facts_auth_types: frozenset[str] = frozenset()
    # Its shape in Azure ML's own datastore API, for types SDK v2 knows (None: not offered there).
    arm: ArmShape | None = None
    # Bytes one upload request carries. upload() takes chunks of any size, but chunks of
    # exactly this size pass through without being copied into blocks.
    upload_block_size: int = 4 * 1024 * 1024

    # --- declarations -------------------------------------------------------------

    @property
    def auth_types(self) -> list[AuthType]:
        return [method.auth_type for method in self.auth_methods]

    @property
    def offered_auth_types(self) -> list[AuthType]:
        """The authentication types a new datastore may use now (the form's choices)."""
        return [method.auth_type for method in self.auth_methods if not self.unavailable_reason(method.auth_type)]

    def unavailable_reason(self, auth_type: str) -> str:
        """Why registering or updating with this authentication type is refused now, or ""."""
        method = self.auth_method(auth_type)
        return method.unavailable() if method.unavailable else ""

    def auth_explanation(self, auth_type: str) -> str:
        method = self.auth_method(auth_type)
        return method.explanation() if method.explanation else ""

    def auth_method(self, auth_type: str) -> AuthMethod:
        for method in self.auth_methods:
            if method.auth_type == auth_type:
                return method
        raise KeyError(auth_type)

    def form_fields(self, auth_type: str, *, updating: bool = False) -> dict[str, forms.Field]:
        """Fresh field instances for the form, in display order. Updating an existing
        datastore leaves out the options that only mean something on registration."""
        declared = {**self.connection_fields, **self.auth_method(auth_type).fields, **self.options}
        return {
            name: copy.deepcopy(form_field)
            for name, form_field in declared.items()
            if not (updating and is_registration_only(form_field))
        }

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
                text = error.messages[0]
                if error.error_list[0].code not in SELF_EXPLAINING_CODES:
                    text = f"The stored {form_field.label} can no longer be used: {text}"
                raise StoredSettingsInvalid(text, field=name) from None
        return Connection(self.storage_type, AuthType(auth_type), values)

    # --- what the list and detail pages show ---------------------------------------

    def location(self, settings: Mapping[str, Any]) -> str:
        """Where the data lives, e.g. 'account/container', for the datastore list."""
        return ""

    def page_notice(self, settings: Mapping[str, Any]) -> str:
        return self.notice

    # --- datastores every new workspace gets ------------------------------------------

    def workspace_store(self, connection_string: str, workspace_uid: str) -> WorkspaceStore | None:
        """The datastore this type adds to every new workspace on the workspace storage
        account (given as an Azure Storage connection string), if any."""
        return None

    # --- calls to the service ------------------------------------------------------

    def wants_check(self, options: Mapping[str, Any]) -> bool:
        """Whether registering with these options checks the service first."""
        if self.capabilities.deferred_validation:
            return bool(options.get("validate_now"))
        return not options.get("skip_validation")

    def check_connection(self, connection: Connection) -> str | None:
        """Prove the credentials reach the data; raise a StorageError saying what failed.
        May return a warning for the datastore's page (e.g. a login that can write files)."""
        raise NotImplementedError

    def verify(self, connection: Connection) -> str:
        """`check_connection` for a request on a user's behalf (register, Update authentication,
        Test connection, Validate now): the whole check, retries included, ends within
        STORAGE_TIMEOUT_SECONDS, and a host that could not be reached is answered no sooner
        than UNREACHABLE_FLOOR_SECONDS, whatever the reason, so timings say nothing either."""
        started = time.monotonic()
        try:
            with network.deadline():
                return self.check_connection(connection) or ""
        except Unreachable:
            time.sleep(max(0.0, started + network.UNREACHABLE_FLOOR_SECONDS - time.monotonic()))
            raise

    # --- files (capabilities browse, upload, delete, folders) --------------------------
    # Paths are relative to the datastore's root, "/"-separated, without leading or
    # trailing slashes, already checked by paths.clean_path. "" is the root.

    def list_folder(
        self,
        connection: Connection,
        folder: str,
        *,
        name_prefix: str = "",
        continuation: str | None = None,
        page_size: int = 200,
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

    def create_folder(self, connection: Connection, path: str) -> None:
        raise NotImplementedError

    def delete_folder(self, connection: Connection, path: str) -> None:
        """Delete a folder and everything in it. This default deletes file by file (for
        services whose folders are only name prefixes); services with real folders override it."""
        for entry in list(self.walk_files(connection, path)):
            self.delete(connection, entry.path)

    def move(self, connection: Connection, source: str, destination: str, *, is_folder: bool) -> None:
        """Rename or move a file or folder. Refuses (Conflict) when the destination exists; the
        source is removed only after its copy is complete."""
        raise NotImplementedError

    def properties(self, connection: Connection, path: str) -> FileProperties:
        raise NotImplementedError

    # --- server-side copies between datastores (capabilities read_urls, copy_from_url) ---------

    def read_url(self, connection: Connection, path: str, *, lifetime: timedelta) -> str:
        """A URL that reads this one file for `lifetime` (a read-only SAS), for a storage service
        to copy from. It carries a credential: it goes to a storage service only, never to a page or log."""
        raise NotImplementedError

    def copy_from_url(
        self,
        connection: Connection,
        path: str,
        source_url: str,
        *,
        overwrite: bool,
        waiting: Callable[[], None] = lambda: None,
    ) -> UploadOutcome:
        """Have the service copy `source_url` onto `path` itself. SKIPPED when `path` exists and
        overwrite is off (the service decides). `waiting` is called while a copy is pending and
        may raise to stop it; a copy that fails or is stopped leaves nothing at `path`."""
        raise NotImplementedError

    def read_range(self, connection: Connection, path: str, offset: int, length: int) -> bytes:
        """At most `length` bytes from `offset` (fewer at the end of the file)."""
        raise NotImplementedError

    # --- what the credential says of itself ----------------------------------------

    def credential_facts(self, auth_type: str, secrets: Mapping[str, str]) -> CredentialFacts:
        """Facts a stored credential carries in the clear (a SAS token's expiry), read without
        validating it, so that an expired one still shows when it expired."""
        return CredentialFacts()

    # --- what "Test connection" reports ----------------------------------------------

    def probe(self, connection: Connection, *, write: bool) -> list[tuple[str, bool | None, str]]:
        """What the credential can do: (ability, True/False, or None when not tried, detail).
        Built on the declared capabilities, so every type reports the same abilities."""
        from .probe import probe  # the probe uses only the calls above

        return probe(self, connection, write=write)

    def download_range(self, connection: Connection, path: str, start: int, end: int | None) -> Download:
        """Bytes start..end (inclusive; None: to the end) of a file. This default reads from the
        start and skips; a type whose service serves ranges overrides it."""
        whole = self.download(connection, path)
        last = (whole.size - 1) if end is None and whole.size is not None else end

        def sliced() -> Iterator[bytes]:
            position = 0
            try:
                for chunk in whole.chunks:
                    chunk_end = position + len(chunk)
                    if chunk_end > start:
                        piece = chunk[max(start - position, 0) :]
                        if last is not None:
                            piece = piece[: max(last - max(start, position) + 1, 0)]
                        if piece:
                            yield piece
                    position = chunk_end
                    if last is not None and position > last:
                        return
            finally:
                close = getattr(whole.chunks, "close", None)
                if close:
                    close()

        size = None if last is None else last - start + 1
        return Download(name=whole.name, size=size, content_type=whole.content_type, chunks=sliced())

    # --- credentials for scripts (capability script_credentials) ------------------------

    def script_credential(
        self, connection: Connection, *, write: bool, path: str, lifetime: timedelta
    ) -> ScriptCredential:
        """A SAS for going to storage directly: read and list, plus write, add, create and
        delete when `write`; for the whole container (or share, filesystem), or `path` alone."""
        raise Conflict(
            f"{self.label} has no short-lived, scoped credential the studio can issue: "
            "use the studio's own file and table routes instead, which need no storage credential."
        )

    # --- browser transfers straight to storage (capability browser_direct_transfers) ---------

    def direct_unavailable(self, connection: Connection) -> str:
        """Why this datastore's transfers go through the studio, or "" when a browser can go direct.
        Decided from the stored settings alone, without a call."""
        return f"{self.label} transfers go through the studio."

    def direct_origin(self, connection: Connection) -> str:
        """scheme://host[:port] a browser talks to for direct transfers (the page's connect-src)."""
        raise NotImplementedError

    def direct_grant(
        self, connection: Connection, path: str, *, write: bool, lifetime: timedelta, download_name: str = ""
    ) -> DirectGrant:
        """A SAS for the one file `path`: create and write when `write` (an upload), else read,
        with `download_name` as its Content-Disposition attachment name."""
        raise NotImplementedError

    def cors_allows(self, connection: Connection, origin: str) -> CorsState:
        """Whether the account's CORS rules let `origin` make the requests of a direct transfer."""
        raise NotImplementedError

    def cors_editable(self, connection: Connection) -> bool:
        """Whether `cors_allow` can work with this credential."""
        return False

    def cors_allow(self, connection: Connection, origin: str) -> bool:
        """Add one CORS rule for `origin`, leaving the others as they are. False when one was already there."""
        raise NotImplementedError

    # --- tables (capabilities tables and queries) ----------------------------------

    def list_tables(self, connection: Connection) -> TableListing:
        """Schemas, then the tables and views of each, with cheap row estimates."""
        raise NotImplementedError

    def table_columns(self, connection: Connection, schema: str, table: str) -> list[ColumnInfo]:
        raise NotImplementedError

    def preview_rows(self, connection: Connection, schema: str, table: str, *, page: int, page_size: int) -> RowsPage:
        """One page of a table's rows."""
        raise NotImplementedError

    def table_query(self, schema: str, table: str) -> str:
        """A starting statement for the query box, with the name quoted."""
        raise NotImplementedError

    def stream_table_csv(self, connection: Connection, schema: str, table: str) -> CsvStream:
        raise NotImplementedError

    def run_readonly_query(
        self, connection: Connection, statement: str, *, row_limit: int, timeout: int
    ) -> QueryResult:
        """Run one statement typed by a user, where the database itself refuses writes."""
        raise NotImplementedError

    def stream_query_csv(self, connection: Connection, statement: str, *, timeout: int) -> CsvStream:
        raise NotImplementedError
