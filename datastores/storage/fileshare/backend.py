"""Azure File Share: account key or SAS token (register_azure_file_share)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from datetime import timedelta
from typing import Any, cast

from azure.core.exceptions import AzureError, HttpResponseError, ResourceExistsError, ResourceNotFoundError
from azure.core.paging import PageIterator
from azure.storage.fileshare import (
    ContentSettings,
    DirectoryProperties,
    ExponentialRetry,
    FileSasPermissions,
    ShareClient,
    ShareFileClient,
    ShareSasPermissions,
    ShareServiceClient,
    generate_file_sas,
    generate_share_sas,
)
from azure.storage.fileshare import FileProperties as ShareFileProperties

from .. import endpoints, fields, paths
from ..auth import AuthType
from ..azure_storage import (
    account_url,
    check_by_listing,
    client_options,
    explain_storage_error,
    public_url,
    sas_expiry,
    sas_facts,
    sas_permissions,
    service_origin,
    signed_credential,
    storage_credential,
    stored_sas_credential,
    stored_sas_keeps_transfers,
    workspace_storage_values,
)
from ..base import (
    ArmShape,
    AuthMethod,
    Capabilities,
    Connection,
    CredentialFacts,
    DirectGrant,
    Download,
    Entry,
    FileProperties,
    FolderPage,
    ScriptCredential,
    StorageBackend,
    UploadOutcome,
    WorkspaceStore,
)
from ..chunks import blocks_of
from ..cors import attachment_disposition
from ..errors import Conflict, InvalidInput, NotFound, StorageError
from ..listing import folder_entry
from ..paths import guess_content_type
from ..staging import is_staging_name, staging_path

WORKSPACE_FILE_STORE = "workspacefilestore"
RANGE_SIZE = 4 * 1024 * 1024  # the most one Put Range takes


class FileShareBackend(StorageBackend):
    storage_type = "AzureFile"
    upload_block_size = RANGE_SIZE
    label = "Azure File Share"
    capabilities = Capabilities(
        browse=True,
        upload=True,
        delete=True,
        folders=True,
        delete_folders=True,
        move=True,
        properties=True,
        read_range=True,
        script_credentials=True,
        browser_direct_transfers=True,
        direct_downloads_only=True,
    )
    arm = ArmShape(
        datastore_type="AzureFile",
        properties={
            "accountName": "account_name",
            "fileShareName": "file_share_name",
            "endpoint": "endpoint",
            "protocol": "protocol",
        },
        credentials={"AccountKey": AuthType.ACCOUNT_KEY, "Sas": AuthType.SAS_TOKEN},
        secrets={"key": "account_key", "sasToken": "sas_token"},
    )
    connection_fields = {
        "account_name": fields.account_name_field(),
        "file_share_name": fields.container_name_field("File share name"),
        "protocol": fields.protocol_field(),
        "endpoint": fields.endpoint_field("core.windows.net", endpoints.STORAGE),
    }
    auth_methods = (
        AuthMethod(AuthType.ACCOUNT_KEY, fields.account_key_fields()),
        AuthMethod(AuthType.SAS_TOKEN, fields.sas_token_fields()),
    )
    options = {
        "create_if_not_exists": fields.create_if_not_exists_field(),
        "skip_validation": fields.skip_validation_field(),
    }
    reach_fields = ("account_name", "protocol", "endpoint")
    credential_facts_auth_types = frozenset({AuthType.SAS_TOKEN})

    def location(self, settings: Mapping[str, Any]) -> str:
        return f"{settings.get('account_name', '')}/{settings.get('file_share_name', '')}"

    def workspace_store(self, connection_string: str, workspace_uid: str) -> WorkspaceStore | None:
        """workspacefilestore: a share of the workspace storage account, created if need be.

        A connection string that names endpoints but no FileEndpoint (the local Azurite's,
        which has no File service) gets the share registered without a check."""
        account = workspace_storage_values(connection_string, "file")
        unchecked_reason = ""
        if account is None:
            account = workspace_storage_values(connection_string, "blob")
            unchecked_reason = (
                "Registered without a check: the workspace storage account's connection string names no "
                "File endpoint (the local Azurite has no File service), so this share cannot be reached "
                "until the datastore points at an account with Azure Files."
            )
        if account is None:
            return None
        values = {
            **account,
            "file_share_name": f"azureml-filestore-{workspace_uid}",
            "create_if_not_exists": True,
            "skip_validation": bool(unchecked_reason),
        }
        return WorkspaceStore(
            name=WORKSPACE_FILE_STORE,
            storage_type=self.storage_type,
            auth_type=AuthType.ACCOUNT_KEY,
            values=self.clean_values(AuthType.ACCOUNT_KEY, values),
            unchecked_reason=unchecked_reason,
        )

    def service_client(self, connection: Connection, *, for_check: bool = False) -> ShareServiceClient:
        # Downloads read RANGE_SIZE per request: each request must finish within the deadline.
        return ShareServiceClient(
            account_url(connection, "file"),
            credential=storage_credential(connection),
            max_single_get_size=RANGE_SIZE,
            max_chunk_get_size=RANGE_SIZE,
            **client_options(for_check=for_check, retry=ExponentialRetry),
        )

    def check_connection(self, connection: Connection) -> None:
        share = self.service_client(connection, for_check=True).get_share_client(connection["file_share_name"])
        root = share.get_directory_client("")
        check_by_listing(
            connection,
            list_one_page=lambda: next(root.list_directories_and_files(results_per_page=1).by_page(), None),
            create=share.create_share,
            service="file",
            resource="file share",
            resource_field="file_share_name",
        )

    # --- browsing and transfer ---------------------------------------------------------
    # Uploads go to a hidden temporary name in the target folder and are renamed into
    # place at the end: a failed upload is deleted, and a rename without replace lets the
    # service refuse an existing name, so a racing upload is never silently replaced.

    def script_credential(
        self, connection: Connection, *, write: bool, path: str, lifetime: timedelta
    ) -> ScriptCredential:
        """A SAS the account key signs: for the share, or one file when `path` names it."""
        share = self.share_client(connection)
        if connection.auth_type == AuthType.SAS_TOKEN:
            return stored_sas_credential(connection, share.url)
        start, expiry = sas_expiry(lifetime)
        if path:
            sas = generate_file_sas(
                connection["account_name"],
                share.share_name,
                path.split("/"),
                connection["account_key"],
                permission=FileSasPermissions(**sas_permissions(write, listing=False, adding=False)),
                start=start,
                expiry=expiry,
            )
            return signed_credential(sas, expiry, share.get_file_client(path).url)
        sas = generate_share_sas(
            connection["account_name"],
            share.share_name,
            connection["account_key"],
            permission=ShareSasPermissions(**sas_permissions(write, adding=False)),
            start=start,
            expiry=expiry,
        )
        return signed_credential(sas, expiry, share.url)

    # --- downloads straight from Azure Files (uploads go through the studio: direct_downloads_only) ---

    def direct_unavailable(self, connection: Connection) -> str:
        return stored_sas_keeps_transfers(connection, "downloads")

    def direct_origin(self, connection: Connection) -> str:
        return service_origin(connection, "file")

    def direct_grant(
        self, connection: Connection, path: str, *, write: bool, lifetime: timedelta, download_name: str = ""
    ) -> DirectGrant:
        """A file SAS the account key signs for `path` alone, read only, with the attachment name set
        on the SAS (rscd). Never one to write: Azure Files uploads go through the studio."""
        if write or self.direct_unavailable(connection):
            raise Conflict(self.direct_unavailable(connection) or "Uploads to Azure Files go through the studio.")
        file = self.share_client(connection).get_file_client(path)
        try:  # a missing file is said here, not by the service's XML to the browser
            file.get_file_properties()
        except ResourceNotFoundError:
            raise NotFound(f"There is no file {path!r} in this datastore.") from None
        except AzureError as error:
            raise self._explain(error, connection, "read") from None
        start, expiry = sas_expiry(lifetime)
        sas = generate_file_sas(
            connection["account_name"],
            connection["file_share_name"],
            path.split("/"),
            connection["account_key"],
            permission=FileSasPermissions(read=True),
            start=start,
            expiry=expiry,
            protocol="https" if connection["protocol"] == "https" else None,
            content_disposition=attachment_disposition(download_name),
        )
        return DirectGrant(url=f"{file.url}?{sas}", permissions="r", expires_on=expiry)

    def share_client(self, connection: Connection) -> ShareClient:
        return self.service_client(connection).get_share_client(connection["file_share_name"])

    def _explain(self, error: AzureError, connection: Connection, action: str) -> StorageError:
        return explain_storage_error(
            error, connection, service="file", resource="file share", resource_field="file_share_name", action=action
        )

    def _explain_listing(self, error: AzureError, connection: Connection, folder: str) -> StorageError:
        """A missing folder is named as such; a missing share gets the usual explanation."""
        if isinstance(error, ResourceNotFoundError) and folder and getattr(error, "error_code", "") != "ShareNotFound":
            return NotFound(f"There is no folder {folder!r} in this datastore.")
        return self._explain(error, connection, "list")

    def list_folder(
        self,
        connection: Connection,
        folder: str,
        *,
        name_prefix: str = "",
        continuation: str | None = None,
        page_size: int = 200,
    ) -> FolderPage:
        directory = self.share_client(connection).get_directory_client(folder)
        pages = cast(
            "PageIterator[DirectoryProperties | ShareFileProperties]",
            directory.list_directories_and_files(
                name_starts_with=name_prefix or None, results_per_page=page_size, include=["timestamps"]
            ).by_page(continuation_token=continuation),
        )
        try:
            page = [item for item in next(pages, []) if not is_staging_name(item.name)]
        except AzureError as error:
            raise self._explain_listing(error, connection, folder) from None
        folders = [folder_entry(paths.join(folder, item.name)) for item in page if item.is_directory]
        files = [self._file_entry(folder, item) for item in page if not item.is_directory]
        return FolderPage(entries=folders + files, continuation=pages.continuation_token or None)

    @staticmethod
    def _file_entry(folder: str, item: Any) -> Entry:
        return Entry(
            name=item.name,
            path=paths.join(folder, item.name),
            is_folder=False,
            size=item.size,
            last_modified=item.last_modified,
            content_type=guess_content_type(item.name),
        )

    def walk_files(self, connection: Connection, folder: str) -> Iterator[Entry]:
        share = self.share_client(connection)
        pending = [folder]
        while pending:
            current = pending.pop(0)
            try:
                for item in share.get_directory_client(current).list_directories_and_files(include=["timestamps"]):
                    if is_staging_name(item.name):
                        continue
                    if item.is_directory:
                        pending.append(paths.join(current, item.name))
                    else:
                        yield self._file_entry(current, item)
            except AzureError as error:
                raise self._explain_listing(error, connection, current) from None

    def download(self, connection: Connection, path: str) -> Download:
        """The SDK's downloader, read chunk by chunk (`chunks()` fetches one range at a time)."""
        try:
            stream = self.share_client(connection).get_file_client(path).download_file()
        except ResourceNotFoundError:
            raise NotFound(f"There is no file {path!r} in this datastore.") from None
        except AzureError as error:
            raise self._explain(error, connection, "read") from None
        return Download(
            name=paths.name_of(path),
            size=stream.size,
            content_type=stream.properties.content_settings.content_type or guess_content_type(path),
            chunks=iter(stream.chunks()),
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
        if size is None:
            raise InvalidInput("Azure Files needs the file's size before the upload starts.")
        share = self.share_client(connection)
        folder = paths.parent(path)
        temporary = share.get_file_client(staging_path(path))
        try:
            self._ensure_folders(share, folder)
            temporary.create_file(
                size, content_settings=ContentSettings(content_type=content_type or guess_content_type(path))
            )
            offset = 0
            for block in blocks_of(chunks, self.upload_block_size):
                temporary.upload_range(block, offset=offset, length=len(block))
                offset += len(block)
            if offset != size:
                raise InvalidInput(f"The upload of {path!r} stopped after {offset} of {size} bytes; nothing was saved.")
            temporary.rename_file(path, overwrite=overwrite)
        except ResourceExistsError:
            self._discard(temporary)
            if overwrite:
                raise
            return UploadOutcome.SKIPPED
        except AzureError as error:
            self._discard(temporary)
            raise self._explain(error, connection, "write") from None
        except BaseException:
            self._discard(temporary)
            raise
        return UploadOutcome.UPLOADED

    def create_folder(self, connection: Connection, path: str) -> None:
        try:
            self._ensure_folders(self.share_client(connection), path)
        except AzureError as error:
            raise self._explain(error, connection, "write") from None

    @staticmethod
    def _ensure_folders(share: ShareClient, folder: str) -> None:
        """Azure Files has real directories: create each missing one on the way down."""
        current = ""
        for name in folder.split("/") if folder else []:
            current = paths.join(current, name)
            try:
                share.get_directory_client(current).create_directory()
            except ResourceExistsError:
                pass

    @staticmethod
    def _discard(temporary: ShareFileClient) -> None:
        try:
            temporary.delete_file()
        except AzureError:
            pass  # it was never created, or the service is gone; an orphan stays hidden from listings

    def delete(self, connection: Connection, path: str) -> None:
        try:
            self.share_client(connection).get_file_client(path).delete_file()
        except ResourceNotFoundError:
            raise NotFound(f"There is no file {path!r} in this datastore.") from None
        except AzureError as error:
            raise self._explain(error, connection, "delete") from None

    # --- file operations ----------------------------------------------------------------

    def credential_facts(self, auth_type: str, secrets: Mapping[str, str]) -> CredentialFacts:
        return sas_facts(auth_type, secrets)

    def properties(self, connection: Connection, path: str) -> FileProperties:
        try:
            found = self.share_client(connection).get_file_client(path).get_file_properties()
        except ResourceNotFoundError:
            raise NotFound(f"There is no file {path!r} in this datastore.") from None
        except AzureError as error:
            raise self._explain(error, connection, "read") from None
        return FileProperties(
            name=paths.name_of(path),
            path=path,
            size=found.size,
            content_type=found.content_settings.content_type or guess_content_type(path),
            last_modified=found.last_modified,
            etag=found.etag or "",
            metadata=dict(found.metadata or {}),
            url=public_url(connection, "file", connection["file_share_name"], path),
        )

    def read_range(self, connection: Connection, path: str, offset: int, length: int) -> bytes:
        if length <= 0:
            return b""
        try:
            return (
                self.share_client(connection)
                .get_file_client(path)
                .download_file(offset=offset, length=length)
                .readall()
            )
        except ResourceNotFoundError:
            raise NotFound(f"There is no file {path!r} in this datastore.") from None
        except HttpResponseError as error:
            if error.status_code == 416:  # past the end (or an empty file)
                return b""
            raise self._explain(error, connection, "read") from None
        except AzureError as error:
            raise self._explain(error, connection, "read") from None

    def _folders_below(self, share: ShareClient, folder: str) -> list[str]:
        """Every directory below `folder` (itself included), parents before children."""
        found, pending = [], [folder]
        while pending:
            current = pending.pop(0)
            found.append(current)
            for item in share.get_directory_client(current).list_directories_and_files():
                if item.is_directory:
                    pending.append(paths.join(current, item.name))
        return found

    def delete_folder(self, connection: Connection, path: str) -> None:
        """Azure Files deletes only empty directories: the files first, then the folders, deepest first."""
        share = self.share_client(connection)
        for entry in list(self.walk_files(connection, path)):
            self.delete(connection, entry.path)
        try:
            for folder in reversed(self._folders_below(share, path)):
                share.get_directory_client(folder).delete_directory()
        except AzureError as error:
            raise self._explain_listing(error, connection, path) from None

    def move(self, connection: Connection, source: str, destination: str, *, is_folder: bool) -> None:
        """Rename File (server-side, never replacing) for each file; then the emptied folders go."""
        share = self.share_client(connection)
        try:
            if not is_folder:
                self._ensure_folders(share, paths.parent(destination))
                share.get_file_client(source).rename_file(destination, overwrite=False)
                return
            if share.get_directory_client(destination).exists():
                raise Conflict(f"A folder {destination!r} is already there: choose another name.")
            folders = self._folders_below(share, source)
            for folder in folders:
                self._ensure_folders(share, destination + folder[len(source) :])
            for entry in list(self.walk_files(connection, source)):
                share.get_file_client(entry.path).rename_file(destination + entry.path[len(source) :], overwrite=False)
            for folder in reversed(folders):
                share.get_directory_client(folder).delete_directory()
        except ResourceExistsError:
            raise Conflict(f"{destination!r} is already there: choose another name.") from None
        except ResourceNotFoundError:
            raise NotFound(f"There is no {'folder' if is_folder else 'file'} {source!r} in this datastore.") from None
        except AzureError as error:
            raise self._explain(error, connection, "move") from None


BACKEND = FileShareBackend()
