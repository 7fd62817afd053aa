"""Azure Data Lake Storage Gen2: service principal, or the studio's own identity with no stored
credential (register_azure_data_lake_gen2; credentials=None in SDK v2).

As in Azure ML, its credentials are validated on first use unless the user ticks
"Validate now". A check tells a refused token request (tenant, client or secret)
apart from a token that is valid but has no access to the data.

It goes through azure-storage-file-datalake. Directories are real: browsing lists
one directory level a page at a time, and uploads create directories. The service
does not filter a listing by name prefix, so a prefix filter reads pages until one
has a match (see listing.filtered_page).

Uploads never show a partial file: bytes go to a staging name beside the target
(`.studio-upload-<hex>`, hidden from listings) and a rename makes them visible.
With overwrite off the rename is conditional, so the service decides SKIPPED; a
failure deletes the staging file.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from azure.core import MatchConditions
from azure.core.exceptions import (
    AzureError,
    ClientAuthenticationError,
    HttpResponseError,
    ResourceNotFoundError,
    ServiceRequestError,
    ServiceResponseError,
)
from azure.core.paging import PageIterator
from azure.storage.blob import BlobServiceClient
from azure.storage.blob import ExponentialRetry as BlobExponentialRetry
from azure.storage.filedatalake import (
    ContentSettings,
    DataLakeDirectoryClient,
    DataLakeServiceClient,
    ExponentialRetry,
    FileSasPermissions,
    FileSystemClient,
    FileSystemSasPermissions,
    PathProperties,
    generate_file_sas,
    generate_file_system_sas,
)

from .. import endpoints, fields, paths, studio_identity
from ..auth import AuthType
from ..azure_storage import (
    IDENTITY_ROLES,
    account_url,
    client_options,
    delegation_refused,
    explain_storage_error,
    public_url,
    sas_expiry,
    sas_permissions,
    service_origin,
    signed_credential,
)
from ..base import (
    ArmShape,
    AuthMethod,
    Capabilities,
    Connection,
    CorsState,
    DirectGrant,
    Download,
    Entry,
    FileProperties,
    FolderPage,
    ScriptCredential,
    StorageBackend,
    UploadOutcome,
)
from ..chunks import blocks_of
from ..cors import attachment_disposition, cors_rule_admits, with_studio_rule
from ..entra import explain_token_failure, reused_credential, service_principal_credential
from ..errors import AuthenticationFailed, Conflict, InvalidInput, NotFound, PermissionMissing, StorageError
from ..listing import filtered_page, refuse_root
from ..paths import guess_content_type
from ..staging import is_staging_name, removed_on_failure, staging_path

MiB = 1024 * 1024
TRANSFER_BLOCK = 4 * MiB  # bytes per append or read request; also bounds memory per transfer


def delete_if_there(file: Any) -> None:
    try:
        file.delete_file()
    except ResourceNotFoundError:
        pass


class DataLakeGen2Backend(StorageBackend):
    storage_type = "AzureDataLakeGen2"
    label = "Azure Data Lake Storage Gen2"
    capabilities = Capabilities(
        browse=True,
        upload=True,
        delete=True,
        folders=True,
        delete_folders=True,
        move=True,
        properties=True,
        read_range=True,
        deferred_validation=True,
        script_credentials=True,
        blob_protocol_paths=True,
        # at the account's blob endpoint (multi-protocol access), as for Blob Storage
        browser_direct_transfers=True,
    )
    arm = ArmShape(
        datastore_type="AzureDataLakeGen2",
        properties={
            "accountName": "account_name",
            "filesystem": "filesystem",
            "endpoint": "endpoint",
            "protocol": "protocol",
        },
        credentials={"ServicePrincipal": AuthType.SERVICE_PRINCIPAL, "None": AuthType.IDENTITY},
        credential_properties={
            "tenantId": "tenant_id",
            "clientId": "client_id",
            "authorityUrl": "authority_url",
            "resourceUrl": "resource_url",
        },
        secrets={"clientSecret": "client_secret"},
    )
    upload_block_size = TRANSFER_BLOCK
    connection_fields = {
        "account_name": fields.account_name_field(),
        "filesystem": fields.container_name_field("Filesystem"),
        "protocol": fields.protocol_field(),
        "endpoint": fields.endpoint_field("core.windows.net", endpoints.STORAGE),
    }
    auth_methods = (
        AuthMethod(
            AuthType.SERVICE_PRINCIPAL,
            fields.service_principal_fields(resource_url="https://storage.azure.com/"),
        ),
        studio_identity.auth_method(IDENTITY_ROLES),
    )
    options = {"validate_now": fields.validate_now_field()}
    reach_fields = ("account_name", "protocol", "endpoint", "authority_url", "resource_url", "tenant_id")

    def location(self, settings: Mapping[str, Any]) -> str:
        return f"{settings.get('account_name', '')}/{settings.get('filesystem', '')}"

    def service_client(self, connection: Connection, *, for_check: bool = False) -> DataLakeServiceClient:
        if connection["protocol"] != "https":
            raise InvalidInput("A token is only ever sent over https: choose https.", field="protocol")
        options = client_options(for_check=for_check, retry=ExponentialRetry)
        if not for_check:
            options.update(max_single_get_size=TRANSFER_BLOCK, max_chunk_get_size=TRANSFER_BLOCK)
        credential, audience = self._token_credential(connection, for_check=for_check)
        return DataLakeServiceClient(
            account_url(connection, "dfs"), credential=credential, audience=audience, **options
        )

    @staticmethod
    def _token_credential(connection: Connection, *, for_check: bool) -> tuple[Any, str]:
        """(the token credential, the audience its tokens are for)."""
        if connection.auth_type == AuthType.IDENTITY:
            return studio_identity.credential(), studio_identity.STORAGE_SCOPE.removesuffix("/.default")
        credential = service_principal_credential(connection) if for_check else reused_credential(connection)
        return credential, connection["resource_url"].rstrip("/")

    def file_system(self, connection: Connection, *, for_check: bool = False) -> FileSystemClient:
        return self.service_client(connection, for_check=for_check).get_file_system_client(connection["filesystem"])

    def explain(
        self, error: AzureError, connection: Connection, path: str = "", missing: str = "file or folder"
    ) -> StorageError:
        status = getattr(error, "status_code", None)
        code = getattr(error, "error_code", None) or ""
        filesystem = connection["filesystem"]
        if connection.auth_type == AuthType.IDENTITY:
            refused = self.identity_refused(error, connection, status)
            if refused is not None:
                return refused
        if isinstance(error, ClientAuthenticationError) and status is None:
            cause = error.__cause__  # the SDK answers a 401 challenge for another tenant by failing here
            if not (isinstance(cause, HttpResponseError) and cause.status_code == 401):
                return explain_token_failure(error, connection["authority_url"])
            status = 401
        if status == 401:
            return AuthenticationFailed(
                "The token request succeeded, but the storage account refused the token. Check that the tenant ID "
                "is the storage account's tenant and that the resource URL is https://storage.azure.com/.",
                field="tenant_id",
            )
        if status == 403:
            return PermissionMissing(
                f"The token is valid but has no access to the filesystem {filesystem!r}: grant the service "
                "principal Storage Blob Data Reader on it (Storage Blob Data Contributor to upload).",
                field="client_id",
            )
        if status == 404 and code in {"FilesystemNotFound", "ContainerNotFound"}:
            return NotFound(
                f"The filesystem {filesystem!r} was not found in account {connection['account_name']!r}. "
                "Check its name (filesystems are containers in the portal).",
                field="filesystem",
            )
        if status == 404:
            return NotFound(f"There is no {missing} {path!r} in this datastore.")
        if status == 409 and code == "PathConflict":
            return Conflict(f"{path!r} crosses a file where a folder is expected, or the reverse.")
        if isinstance(error, ServiceRequestError | ServiceResponseError):
            return explain_storage_error(
                error, connection, service="dfs", resource="filesystem", resource_field="filesystem"
            )
        if isinstance(error, HttpResponseError):
            return StorageError(f"The storage service answered {status} {code or error.reason}.")
        return StorageError("The storage service's answer could not be read. Try again.")

    @staticmethod
    def identity_refused(error: AzureError, connection: Connection, status: int | None) -> StorageError | None:
        if studio_identity.is_token_failure(error) and status is None:
            refused = error.__cause__  # a 401 challenge the SDK could not answer
            if not (isinstance(refused, HttpResponseError) and refused.status_code == 401):
                return studio_identity.explain_token_failure(error)
            status = 401
        if status == 401:
            return studio_identity.token_refused("storage account")
        if status == 403:
            return studio_identity.role_missing(
                f"the filesystem {connection['filesystem']!r} of account {connection['account_name']!r}",
                "grant it Storage Blob Data Reader on the storage account or filesystem "
                "(Storage Blob Data Contributor to upload, delete or move).",
            )
        return None

    @contextmanager
    def explained(self, connection: Connection, path: str = "", missing: str = "file or folder") -> Iterator[None]:
        try:
            yield
        except AzureError as error:
            raise self.explain(error, connection, path, missing) from None

    def check_connection(self, connection: Connection) -> None:
        filesystem = self.file_system(connection, for_check=True)
        with self.explained(connection):
            next(filesystem.get_paths(recursive=False, max_results=1).by_page(), None)

    # --- browsing and transfer ---------------------------------------------------------

    @staticmethod
    def entry(path: Any) -> Entry:
        modified = path.last_modified if isinstance(path.last_modified, datetime) else None
        return Entry(
            name=paths.name_of(path.name),
            path=path.name,
            is_folder=bool(path.is_directory),
            size=None if path.is_directory else int(path.content_length or 0),
            content_type="" if path.is_directory else guess_content_type(path.name),
            # The SDK parses the listing's RFC 1123 dates (always GMT) without a zone.
            last_modified=modified.replace(tzinfo=UTC) if modified and modified.tzinfo is None else modified,
        )

    def list_folder(
        self,
        connection: Connection,
        folder: str,
        *,
        name_prefix: str = "",
        continuation: str | None = None,
        page_size: int = 200,
    ) -> FolderPage:
        filesystem = self.file_system(connection)

        def fetch(token: str | None) -> tuple[list[Entry], str | None]:
            pages = cast(
                "PageIterator[PathProperties]",
                filesystem.get_paths(path=folder or None, recursive=False, max_results=page_size).by_page(
                    continuation_token=token
                ),
            )
            page = [self.entry(path) for path in next(pages, [])]
            return page, pages.continuation_token

        with self.explained(connection, folder, "folder"):
            return filtered_page(fetch, continuation, name_prefix)

    def walk_files(self, connection: Connection, folder: str) -> Iterator[Entry]:
        filesystem = self.file_system(connection)
        with self.explained(connection, folder):
            for path in filesystem.get_paths(path=folder or None, recursive=True):
                if not path.is_directory and not is_staging_name(paths.name_of(path.name)):
                    yield self.entry(path)

    def download(self, connection: Connection, path: str) -> Download:
        file = self.file_system(connection).get_file_client(path)
        with self.explained(connection, path, "file"):
            downloader = file.download_file()
        if (downloader.properties.metadata or {}).get("hdi_isfolder") == "true":
            raise InvalidInput(f"{path!r} is a folder: download it as a folder.")

        def chunks() -> Iterator[bytes]:
            with self.explained(connection, path):
                yield from downloader.chunks()

        content_settings = downloader.properties.content_settings
        return Download(
            name=paths.name_of(path),
            size=downloader.size,
            content_type=(content_settings.content_type if content_settings else None) or guess_content_type(path),
            chunks=chunks(),
        )

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
        refuse_root(path, "replaced by a file")
        filesystem = self.file_system(connection)
        with self.explained(connection, path):
            try:
                existing = filesystem.get_file_client(path).get_file_properties()
            except ResourceNotFoundError:
                existing = None
            if existing is not None and (existing.metadata or {}).get("hdi_isfolder") == "true":
                raise Conflict(f"A folder named {paths.name_of(path)!r} is already there: choose another name.")
            if existing is not None and not overwrite:
                return UploadOutcome.SKIPPED  # spares the transfer; the conditional rename below decides

            staged = filesystem.get_file_client(staging_path(path))
            settings_ = ContentSettings(content_type=content_type or guess_content_type(path))
            with removed_on_failure(lambda: delete_if_there(staged)):
                staged.create_file(content_settings=settings_)
                offset = 0
                for block in blocks_of(chunks, self.upload_block_size):
                    staged.append_data(block, offset=offset, length=len(block))
                    offset += len(block)
                staged.flush_data(offset, content_settings=settings_)
                target = f"{filesystem.file_system_name}/{path}"
                if overwrite:
                    staged.rename_file(target)
                    return UploadOutcome.UPLOADED
                try:
                    staged.rename_file(target, match_condition=MatchConditions.IfMissing)
                except HttpResponseError as error:
                    if error.status_code != 412 and getattr(error, "error_code", None) != "PathAlreadyExists":
                        raise
                    staged.delete_file()
                    return UploadOutcome.SKIPPED
                return UploadOutcome.UPLOADED

    def script_credential(
        self, connection: Connection, *, write: bool, path: str, lifetime: timedelta
    ) -> ScriptCredential:
        """A user delegation SAS: the service principal asks the account for a delegation key
        (Get User Delegation Key) and the studio signs with it; the client secret never leaves."""
        service = self.service_client(connection)
        start, expiry = sas_expiry(lifetime)
        filesystem = connection["filesystem"]
        key = self._delegation_key(connection, start, expiry)
        if path:
            permission = FileSasPermissions(**sas_permissions(write, listing=False))
            sas = self._file_sas(connection, key, path, permission, start, expiry)
            return signed_credential(sas, expiry, service.get_file_client(filesystem, path).url)
        sas = generate_file_system_sas(
            connection["account_name"],
            filesystem,
            credential=key,
            permission=FileSystemSasPermissions(**sas_permissions(write)),
            start=start,
            expiry=expiry,
        )
        return signed_credential(sas, expiry, service.get_file_system_client(filesystem).url)

    def _delegation_key(self, connection: Connection, start: datetime, expiry: datetime) -> Any:
        try:
            return self.service_client(connection).get_user_delegation_key(start, expiry)
        except AzureError as error:
            raise delegation_refused(error, connection) or self.explain(error, connection) from None

    @staticmethod
    def _file_sas(
        connection: Connection,
        key: Any,
        path: str,
        permission: FileSasPermissions,
        start: datetime,
        expiry: datetime,
        **extra: Any,
    ) -> str:
        """A user delegation SAS for the one file `path` (sr=b: the DFS and blob endpoints both take it)."""
        directory, _, file_name = path.rpartition("/")
        return generate_file_sas(
            connection["account_name"],
            connection["filesystem"],
            directory,
            file_name,
            credential=key,
            permission=permission,
            start=start,
            expiry=expiry,
            **extra,
        )

    # --- browser transfers straight to the account's blob endpoint ---------------------------
    # A Gen2 account serves the Blob API too, so a browser uploads with Put Block and Put Block
    # List (static/direct.js, as for Blob Storage) and downloads with a GET, each with a user
    # delegation SAS for the one file. The CORS rules are the blob service's.

    def blob_service(self, connection: Connection) -> BlobServiceClient:
        """The account's blob endpoint, with the same token as the DFS calls (service properties)."""
        if connection["protocol"] != "https":
            raise InvalidInput("A token is only ever sent over https: choose https.", field="protocol")
        credential, audience = self._token_credential(connection, for_check=False)
        return BlobServiceClient(
            account_url(connection, "blob"),
            credential=credential,
            audience=audience,
            **client_options(retry=BlobExponentialRetry),
        )

    def direct_unavailable(self, connection: Connection) -> str:
        if connection["protocol"] != "https":
            return "This datastore uses http, and a token is only ever sent over https, so files go through the studio."
        return ""

    def direct_origin(self, connection: Connection) -> str:
        return service_origin(connection, "blob")

    def direct_grant(
        self, connection: Connection, path: str, *, write: bool, lifetime: timedelta, download_name: str = ""
    ) -> DirectGrant:
        """A user delegation SAS for the file `path` alone: create and write for Put Block and Put
        Block List, or read with the attachment name set on the SAS (rscd)."""
        refuse_root(path, "replaced by a file")
        if self.direct_unavailable(connection):
            raise Conflict(self.direct_unavailable(connection))
        if not write:  # a missing file or a folder is said here, not by the service's XML to the browser
            with self.explained(connection, path, "file"):
                found = self.file_system(connection).get_file_client(path).get_file_properties()
            if (found.metadata or {}).get("hdi_isfolder") == "true":
                raise InvalidInput(f"{path!r} is a folder: download it as a folder.")
        start, expiry = sas_expiry(lifetime)
        extra: dict[str, Any] = {"protocol": "https"}
        if not write:
            extra["content_disposition"] = attachment_disposition(download_name)
        permission = FileSasPermissions(create=True, write=True) if write else FileSasPermissions(read=True)
        sas = self._file_sas(
            connection, self._delegation_key(connection, start, expiry), path, permission, start, expiry, **extra
        )
        blob = self.blob_service(connection).get_blob_client(connection["filesystem"], path)
        return DirectGrant(url=f"{blob.url}?{sas}", permissions="cw" if write else "r", expires_on=expiry)

    def cors_allows(self, connection: Connection, origin: str) -> CorsState:
        """Read the blob service's CORS rules with the principal's token. A principal with only a
        data role may not read them (that takes e.g. Storage Account Contributor): then the browser
        finds out, and direct.js falls back to the studio if it is turned away."""
        try:
            rules = self.blob_service(connection).get_service_properties().get("cors") or []
        except HttpResponseError as error:
            if error.status_code == 403:
                return CorsState.UNKNOWN
            raise self.explain(error, connection) from None
        except AzureError as error:
            raise self.explain(error, connection) from None
        return CorsState.ALLOWED if any(cors_rule_admits(rule, origin) for rule in rules) else CorsState.MISSING

    def cors_editable(self, connection: Connection) -> bool:
        return True  # with the principal's token; the service says whether its role allows it

    def cors_allow(self, connection: Connection, origin: str) -> bool:
        """Append one rule for `origin` to the blob service's rules (Set Blob Service Properties
        replaces the whole list, so it is read first and written back with the new rule last)."""
        service = self.blob_service(connection)
        try:
            rules = with_studio_rule(service.get_service_properties().get("cors") or [], origin, "Blob Storage")
            if rules is None:
                return False
            service.set_service_properties(cors=rules)
        except HttpResponseError as error:
            if error.status_code == 403:
                raise self._cors_refused(connection) from None
            raise self.explain(error, connection) from None
        except AzureError as error:
            raise self.explain(error, connection) from None
        return True

    @staticmethod
    def _cors_refused(connection: Connection) -> PermissionMissing:
        who = "the studio's identity" if connection.auth_type == AuthType.IDENTITY else "the service principal"
        return PermissionMissing(
            f"The storage account refused {who} its CORS rules: reading and changing them takes more than a data "
            "role (e.g. Storage Account Contributor). Add the rule in the portal (Resource sharing (CORS), "
            "Blob service) instead."
        )

    def create_folder(self, connection: Connection, path: str) -> None:
        """Create a directory (and its parents); an existing one is left as it is."""
        refuse_root(path, "created")
        with self.explained(connection, path):
            self.file_system(connection).create_directory(path)

    def delete(self, connection: Connection, path: str) -> None:
        """Delete a file, or a folder with everything in it. Nothing there is not an error."""
        refuse_root(path, "deleted")
        filesystem = self.file_system(connection)
        with self.explained(connection, path):
            try:
                filesystem.get_file_client(path).delete_file()
            except ResourceNotFoundError:
                pass
            except HttpResponseError as error:
                if getattr(error, "error_code", None) != "DirectoryNotEmpty":
                    raise
                filesystem.get_directory_client(path).delete_directory()

    def delete_folder(self, connection: Connection, path: str) -> None:
        self.delete(connection, path)  # recursive already

    def properties(self, connection: Connection, path: str) -> FileProperties:
        with self.explained(connection, path, "file"):
            found = self.file_system(connection).get_file_client(path).get_file_properties()
        content_settings = found.content_settings
        return FileProperties(
            name=paths.name_of(path),
            path=path,
            size=found.size,
            content_type=(content_settings.content_type if content_settings else "") or guess_content_type(path),
            last_modified=found.last_modified,
            etag=found.etag or "",
            metadata={key: value for key, value in (found.metadata or {}).items() if key != "hdi_isfolder"},
            url=public_url(connection, "dfs", connection["filesystem"], path),
        )

    def read_range(self, connection: Connection, path: str, offset: int, length: int) -> bytes:
        if length <= 0:
            return b""
        file = self.file_system(connection).get_file_client(path)
        with self.explained(connection, path, "file"):
            try:
                return file.download_file(offset=offset, length=length).readall()
            except HttpResponseError as error:
                if error.status_code == 416:  # past the end (or an empty file)
                    return b""
                raise

    def move(self, connection: Connection, source: str, destination: str, *, is_folder: bool) -> None:
        """One rename (atomic on a hierarchical namespace), refused when the destination exists."""
        refuse_root(source, "moved")
        refuse_root(destination, "replaced")
        filesystem = self.file_system(connection)
        target = f"{filesystem.file_system_name}/{destination}"
        with self.explained(connection, source):
            if paths.parent(destination):
                filesystem.create_directory(paths.parent(destination))
            client = filesystem.get_directory_client(source) if is_folder else filesystem.get_file_client(source)
            try:
                if isinstance(client, DataLakeDirectoryClient):
                    client.rename_directory(target, match_condition=MatchConditions.IfMissing)
                else:
                    client.rename_file(target, match_condition=MatchConditions.IfMissing)
            except HttpResponseError as error:
                if error.status_code in (409, 412):
                    raise Conflict(f"{destination!r} is already there: choose another name.") from None
                raise


BACKEND = DataLakeGen2Backend()
