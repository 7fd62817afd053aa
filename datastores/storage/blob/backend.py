"""Azure Blob Storage: account key, SAS token, or the studio's own identity with no stored
credential (register_azure_blob_container; credentials=None in SDK v2)."""

from __future__ import annotations

import base64
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, cast

from azure.core import MatchConditions, PipelineClient
from azure.core.exceptions import (
    AzureError,
    HttpResponseError,
    ResourceExistsError,
    ResourceModifiedError,
    ResourceNotFoundError,
    ServiceResponseError,
)
from azure.core.paging import PageIterator
from azure.core.pipeline.policies import BearerTokenCredentialPolicy, HeadersPolicy, RetryPolicy
from azure.core.rest import HttpRequest, HttpResponse
from azure.storage.blob import (
    BlobBlock,
    BlobClient,
    BlobPrefix,
    BlobProperties,
    BlobSasPermissions,
    BlobServiceClient,
    ContainerClient,
    ContainerSasPermissions,
    ContentSettings,
    ExponentialRetry,
    generate_blob_sas,
    generate_container_sas,
)

from .. import endpoints, fields, network, paths, studio_identity
from ..auth import AuthType
from ..azure_storage import (
    IDENTITY_ROLES,
    account_url,
    check_by_listing,
    client_options,
    delegation_refused,
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
    CorsState,
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
from ..cors import attachment_disposition, cors_rule_admits, with_studio_rule
from ..errors import Conflict, NotFound, StorageError, Unreachable
from ..listing import folder_entry
from ..parallel import in_order
from ..paths import guess_content_type

WORKSPACE_BLOB_STORE = "workspaceblobstore"
BLOCK_SIZE = 8 * 1024 * 1024
# Measured with bench/run-transfer: more blocks at once did not move data faster through one
# gunicorn worker (Azurite was the bottleneck) but cost CPU and memory; these keep a transfer's
# memory near 50 MiB (an upload) or a few MiB (a download) whatever the file's size.
BLOCKS_IN_FLIGHT = 3  # upload: blocks staged at once; the next one is read from the request meanwhile
STREAM_READ_SIZE = 1024 * 1024  # download: the piece read from the response and passed on
MAX_RESUMES = 3  # download: a broken connection is resumed from the byte reached this many times
READ_SAS_LIFETIME = timedelta(minutes=15)  # the SAS an account-key download signs for its GETs
COPY_POLL_SECONDS = 0.2  # how often a move looks whether its server-side copy has finished


class BlobBackend(StorageBackend):
    storage_type = "AzureBlob"
    label = "Azure Blob Storage"
    capabilities = Capabilities(
        browse=True,
        upload=True,
        delete=True,
        delete_folders=True,
        move=True,
        properties=True,
        read_range=True,
        script_credentials=True,
        blob_protocol_paths=True,
        browser_direct_transfers=True,
        read_urls=True,
        copy_from_url=True,
    )
    arm = ArmShape(
        datastore_type="AzureBlob",
        properties={
            "accountName": "account_name",
            "containerName": "container_name",
            "endpoint": "endpoint",
            "protocol": "protocol",
            "subscriptionId": "subscription_id",
            "resourceGroup": "resource_group",
        },
        credentials={"AccountKey": AuthType.ACCOUNT_KEY, "Sas": AuthType.SAS_TOKEN, "None": AuthType.IDENTITY},
        secrets={"key": "account_key", "sasToken": "sas_token"},
    )
    connection_fields = {
        "account_name": fields.account_name_field(),
        "container_name": fields.container_name_field(),
        "protocol": fields.protocol_field(),
        "endpoint": fields.endpoint_field("core.windows.net", endpoints.STORAGE),
        "grant_workspace_access": fields.checkbox_field(
            "Grant workspace access",
            "For a storage account in a virtual network: let the workspace's managed identity reach it.",
        ),
        **fields.subscription_and_resource_group_fields(),
    }
    auth_methods = (
        AuthMethod(AuthType.ACCOUNT_KEY, fields.account_key_fields()),
        AuthMethod(AuthType.SAS_TOKEN, fields.sas_token_fields()),
        studio_identity.auth_method(IDENTITY_ROLES),
    )
    options = {
        "create_if_not_exists": fields.create_if_not_exists_field(),
        "skip_validation": fields.skip_validation_field(),
    }
    advanced_fields = ("grant_workspace_access", "subscription_id", "resource_group")
    advanced_label = "Virtual network and Azure resource"
    reach_fields = ("account_name", "protocol", "endpoint")
    credential_facts_auth_types = frozenset({AuthType.SAS_TOKEN})
    upload_block_size = BLOCK_SIZE

    def location(self, settings: Mapping[str, Any]) -> str:
        return f"{settings.get('account_name', '')}/{settings.get('container_name', '')}"

    def workspace_store(self, connection_string: str, workspace_uid: str) -> WorkspaceStore | None:
        """workspaceblobstore, the default: a container of the workspace storage account, created if need be."""
        account = workspace_storage_values(connection_string, "blob")
        if account is None:
            return None
        values = {**account, "container_name": f"azureml-blobstore-{workspace_uid}", "create_if_not_exists": True}
        return WorkspaceStore(
            name=WORKSPACE_BLOB_STORE,
            storage_type=self.storage_type,
            auth_type=AuthType.ACCOUNT_KEY,
            values=self.clean_values(AuthType.ACCOUNT_KEY, values),
            is_default=True,
        )

    def service_client(self, connection: Connection, *, for_check: bool = False) -> BlobServiceClient:
        return BlobServiceClient(
            account_url(connection, "blob"),
            credential=storage_credential(connection),
            **client_options(for_check=for_check, retry=ExponentialRetry),
        )

    def check_connection(self, connection: Connection) -> None:
        container = self.service_client(connection, for_check=True).get_container_client(connection["container_name"])
        check_by_listing(
            connection,
            list_one_page=lambda: next(container.list_blobs(results_per_page=1).by_page(), None),
            create=container.create_container,
            service="blob",
            resource="container",
            resource_field="container_name",
        )

    # --- browsing and transfer ---------------------------------------------------------

    def container_client(self, connection: Connection) -> ContainerClient:
        return self.service_client(connection).get_container_client(connection["container_name"])

    def _explain(self, error: AzureError, connection: Connection, action: str) -> StorageError:
        return explain_storage_error(
            error, connection, service="blob", resource="container", resource_field="container_name", action=action
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
        prefix = f"{folder}/{name_prefix}" if folder else name_prefix
        pages = cast(
            "PageIterator[BlobProperties | BlobPrefix]",
            self.container_client(connection)
            .walk_blobs(name_starts_with=prefix or None, delimiter="/", results_per_page=page_size)
            .by_page(continuation_token=continuation),
        )
        try:
            page = list(next(pages, []))
        except AzureError as error:
            raise self._explain(error, connection, "list") from None
        folders = [folder_entry(item.name) for item in page if isinstance(item, BlobPrefix)]
        files = [self._file_entry(item) for item in page if not isinstance(item, BlobPrefix)]
        return FolderPage(entries=folders + files, continuation=pages.continuation_token or None)

    @staticmethod
    def _file_entry(blob: BlobProperties) -> Entry:
        return Entry(
            name=paths.name_of(blob.name),
            path=blob.name,
            is_folder=False,
            size=blob.size,
            last_modified=blob.last_modified,
            content_type=blob.content_settings.content_type or "",
        )

    def walk_files(self, connection: Connection, folder: str) -> Iterator[Entry]:
        blobs = self.container_client(connection).list_blobs(name_starts_with=f"{folder}/" if folder else None)
        try:
            for blob in blobs:
                yield self._file_entry(blob)
        except AzureError as error:
            raise self._explain(error, connection, "list") from None

    def download(self, connection: Connection, path: str) -> Download:
        blob = self.container_client(connection).get_blob_client(path)
        stream = self._stream_blob(connection, blob)
        headers = next(stream)  # the GET's response headers, or a StorageError before any byte is sent on
        return Download(
            name=paths.name_of(path),
            size=int(headers["Content-Length"]),
            content_type=headers.get("Content-Type") or "application/octet-stream",
            chunks=stream,
        )

    def _stream_blob(self, connection: Connection, blob: BlobClient) -> Iterator[Any]:
        """One GET of the blob: first its response headers, then its bytes, STREAM_READ_SIZE at a time.

        Not the SDK's downloader: it reads each response whole, so streaming with it takes one
        ranged GET per block held in memory, and measured with bench/run-transfer that costs
        Azurite up to twice the CPU per GiB. azure-core, the SDK's own HTTP layer, sends this
        GET. A connection that breaks midway is resumed from the byte reached (up to MAX_RESUMES
        times) with a GET conditional on the first one's ETag, so a blob replaced meanwhile fails
        the download instead of mixing two versions."""
        transport = network.transport(connection_data_block_size=STREAM_READ_SIZE)
        policies: list[Any] = [HeadersPolicy({"x-ms-version": blob.api_version}), RetryPolicy(retry_total=MAX_RESUMES)]
        if connection.auth_type == AuthType.IDENTITY:
            policies.append(BearerTokenCredentialPolicy(storage_credential(connection), studio_identity.STORAGE_SCOPE))
        client: PipelineClient[HttpRequest, HttpResponse]
        with PipelineClient(blob.url, policies=policies, transport=transport) as client:
            response = self._get(client, connection, blob)
            size, etag = int(response.headers["Content-Length"]), response.headers["ETag"]
            yield response.headers
            received, resumes = 0, 0
            while True:
                try:
                    for piece in response.iter_raw():
                        received += len(piece)
                        network.rearm(response)  # each piece, not the whole blob, has the deadline
                        yield piece
                    if received >= size:
                        return
                except (ServiceResponseError, HttpResponseError):
                    pass  # the connection broke: resume from the byte reached
                finally:
                    response.close()
                resumes += 1
                if resumes > MAX_RESUMES:
                    raise Unreachable(
                        f"The download of {blob.blob_name!r} broke off {resumes} times, after {received} of "
                        f"{size} bytes. Check the network and download it again."
                    )
                response = self._get(client, connection, blob, resume_from=received, etag=etag)

    def _get(
        self, client: PipelineClient, connection: Connection, blob: BlobClient, *, resume_from: int = 0, etag: str = ""
    ) -> HttpResponse:
        headers = {"If-Match": etag} if etag else {}
        if resume_from:
            headers["x-ms-range"] = f"bytes={resume_from}-"
        try:
            response = client.send_request(
                HttpRequest("GET", self._signed_url(connection, blob), headers=headers), stream=True
            )
        except AzureError as error:
            raise self._explain(error, connection, "read") from None
        if response.status_code in (200, 206):
            return response
        response.read()
        response.close()
        code = response.headers.get("x-ms-error-code")
        if code == "BlobNotFound":
            raise NotFound(f"There is no file {blob.blob_name!r} in this datastore.")
        if response.status_code == 412:
            raise Conflict(f"{blob.blob_name!r} was replaced while it downloaded. Download it again.")
        refusal = HttpResponseError(response=response)
        refusal.error_code = code  # type: ignore[attr-defined]  # the storage SDKs set it on their errors; we do here
        raise self._explain(refusal, connection, "read")

    @staticmethod
    def _signed_url(connection: Connection, blob: BlobClient) -> str:
        """The blob's URL with a SAS: the datastore's own, or a short one signed with its account
        key. An identity-based datastore's requests carry the identity's token instead."""
        if connection.auth_type in (AuthType.SAS_TOKEN, AuthType.IDENTITY):
            return blob.url  # the client adds the datastore's SAS token to its URL
        sas = generate_blob_sas(
            connection["account_name"],
            blob.container_name,
            blob.blob_name,
            account_key=connection["account_key"],
            permission=BlobSasPermissions(read=True),
            expiry=datetime.now(UTC) + READ_SAS_LIFETIME,
        )
        return f"{blob.url}?{sas}"

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
        """Stage blocks (several at once), then commit them in one call.

        Nothing is visible until the commit, so a failed upload leaves nothing behind;
        with overwrite off the commit is conditional (If-None-Match: *), so a racing
        upload of the same name is never silently replaced.
        """
        blob = self.container_client(connection).get_blob_client(path)
        block_ids: list[str] = []

        def stage_blocks() -> Iterator[Callable[[], object]]:
            for number, block in enumerate(blocks_of(chunks, self.upload_block_size)):
                block_ids.append(base64.b64encode(f"{number:08d}".encode()).decode())
                yield partial(blob.stage_block, block_ids[-1], block)

        def stage_and_commit() -> None:
            for _staged in in_order(stage_blocks(), window=BLOCKS_IN_FLIGHT):
                pass
            conditions: dict[str, Any] = {} if overwrite else {"if_none_match": "*"}
            blob.commit_block_list(
                [BlobBlock(block_id) for block_id in block_ids],
                content_settings=ContentSettings(content_type=content_type or guess_content_type(path)),
                **conditions,
            )

        outcome, _ = self._conditional_write(connection, overwrite, stage_and_commit)
        return outcome

    def _conditional_write(
        self, connection: Connection, overwrite: bool, write: Callable[[], Any]
    ) -> tuple[UploadOutcome, Any]:
        """Run a write that, with overwrite off, is conditional on the blob not being there:
        SKIPPED (and None) when the service refused it for that, else UPLOADED and what it returned."""
        try:
            return UploadOutcome.UPLOADED, write()
        except (ResourceExistsError, ResourceModifiedError):
            return UploadOutcome.SKIPPED, None
        except HttpResponseError as error:
            if error.status_code in (409, 412) and not overwrite:
                return UploadOutcome.SKIPPED, None
            raise self._explain(error, connection, "write") from None
        except AzureError as error:
            raise self._explain(error, connection, "write") from None

    def script_credential(
        self, connection: Connection, *, write: bool, path: str, lifetime: timedelta
    ) -> ScriptCredential:
        """A SAS the account key signs, or for an identity-based datastore a user delegation SAS
        (the studio's identity asks the account for a delegation key and the studio signs with
        it; the identity's token never leaves): for the container, or one blob when `path` names it."""
        container = self.container_client(connection)
        if connection.auth_type == AuthType.SAS_TOKEN:
            return stored_sas_credential(connection, container.url)
        start, expiry = sas_expiry(lifetime)
        signing = self._signing(connection, start, expiry)
        if path:
            blob = container.get_blob_client(path)
            sas = generate_blob_sas(
                connection["account_name"],
                container.container_name,
                path,
                permission=BlobSasPermissions(**sas_permissions(write, listing=False)),
                start=start,
                expiry=expiry,
                **signing,
            )
            return signed_credential(sas, expiry, blob.url)
        sas = generate_container_sas(
            connection["account_name"],
            container.container_name,
            permission=ContainerSasPermissions(**sas_permissions(write)),
            start=start,
            expiry=expiry,
            **signing,
        )
        return signed_credential(sas, expiry, container.url)

    def _signing(self, connection: Connection, start: datetime, expiry: datetime) -> dict[str, Any]:
        """What signs a SAS: the account key, or for an identity-based datastore a user delegation key."""
        if connection.auth_type != AuthType.IDENTITY:
            return {"account_key": connection["account_key"]}
        try:
            return {"user_delegation_key": self.service_client(connection).get_user_delegation_key(start, expiry)}
        except AzureError as error:
            raise delegation_refused(error, connection) or self._explain(error, connection, "read") from None

    # --- browser transfers straight to Blob Storage -----------------------------------------

    def direct_unavailable(self, connection: Connection) -> str:
        return stored_sas_keeps_transfers(connection, "uploads and downloads")

    def direct_origin(self, connection: Connection) -> str:
        return service_origin(connection, "blob")

    def direct_grant(
        self, connection: Connection, path: str, *, write: bool, lifetime: timedelta, download_name: str = ""
    ) -> DirectGrant:
        """A service SAS (or a user delegation SAS) for the blob `path` alone: create and write for
        Put Block and Put Block List, or read with the attachment name set on the SAS (rscd)."""
        if self.direct_unavailable(connection):
            raise Conflict(self.direct_unavailable(connection))
        blob = self.container_client(connection).get_blob_client(path)
        if not write:  # a missing file is said here, not by the service's XML to the browser
            try:
                blob.get_blob_properties()
            except ResourceNotFoundError:
                raise NotFound(f"There is no file {path!r} in this datastore.") from None
            except AzureError as error:
                raise self._explain(error, connection, "read") from None
        start, expiry = sas_expiry(lifetime)
        disposition: dict[str, Any] = {} if write else {"content_disposition": attachment_disposition(download_name)}
        sas = generate_blob_sas(
            connection["account_name"],
            blob.container_name,
            path,
            permission=BlobSasPermissions(create=True, write=True) if write else BlobSasPermissions(read=True),
            start=start,
            expiry=expiry,
            protocol="https" if connection["protocol"] == "https" else None,
            **disposition,
            **self._signing(connection, start, expiry),
        )
        return DirectGrant(url=f"{blob.url}?{sas}", permissions="cw" if write else "r", expires_on=expiry)

    def _service_properties(self, connection: Connection) -> dict[str, Any]:
        try:
            return self.service_client(connection).get_service_properties()
        except AzureError as error:
            raise self._explain(error, connection, "cors") from None

    def cors_allows(self, connection: Connection, origin: str) -> CorsState:
        """Read the account's CORS rules with the account key. An identity that may not read them
        (it needs more than a data role) leaves it to the browser to find out."""
        try:
            rules = self.service_client(connection).get_service_properties().get("cors") or []
        except HttpResponseError as error:
            if connection.auth_type == AuthType.IDENTITY and error.status_code == 403:
                return CorsState.UNKNOWN
            raise self._explain(error, connection, "cors") from None
        except AzureError as error:
            raise self._explain(error, connection, "cors") from None
        return CorsState.ALLOWED if any(cors_rule_admits(rule, origin) for rule in rules) else CorsState.MISSING

    def cors_editable(self, connection: Connection) -> bool:
        return connection.auth_type == AuthType.ACCOUNT_KEY

    def cors_allow(self, connection: Connection, origin: str) -> bool:
        """Append one rule for `origin` to the rules the account has (set_service_properties replaces
        the whole list, so it is read first and written back with the new rule last)."""
        if not self.cors_editable(connection):
            raise Conflict("Only a datastore with the account key can change the account's CORS rules.")
        rules = with_studio_rule(self._service_properties(connection).get("cors") or [], origin, "Blob Storage")
        if rules is None:
            return False
        try:
            self.service_client(connection).set_service_properties(cors=rules)
        except AzureError as error:
            raise self._explain(error, connection, "cors") from None
        return True

    def delete(self, connection: Connection, path: str) -> None:
        try:
            self.container_client(connection).delete_blob(path)
        except ResourceNotFoundError:
            raise NotFound(f"There is no file {path!r} in this datastore.") from None
        except AzureError as error:
            raise self._explain(error, connection, "delete") from None

    # --- file operations ----------------------------------------------------------------

    def credential_facts(self, auth_type: str, secrets: Mapping[str, str]) -> CredentialFacts:
        return sas_facts(auth_type, secrets)

    def properties(self, connection: Connection, path: str) -> FileProperties:
        try:
            found = self.container_client(connection).get_blob_client(path).get_blob_properties()
        except ResourceNotFoundError:
            raise NotFound(f"There is no file {path!r} in this datastore.") from None
        except AzureError as error:
            raise self._explain(error, connection, "read") from None
        return FileProperties(
            name=paths.name_of(path),
            path=path,
            size=found.size,
            content_type=found.content_settings.content_type or "",
            last_modified=found.last_modified,
            etag=found.version_id or found.etag or "",
            metadata=dict(found.metadata or {}),
            url=public_url(connection, "blob", connection["container_name"], path),
        )

    def read_range(self, connection: Connection, path: str, offset: int, length: int) -> bytes:
        if length <= 0:
            return b""
        blob = self.container_client(connection).get_blob_client(path)
        try:
            return blob.download_blob(offset=offset, length=length).readall()
        except ResourceNotFoundError:
            raise NotFound(f"There is no file {path!r} in this datastore.") from None
        except HttpResponseError as error:
            if error.status_code == 416:  # past the end (or an empty blob)
                return b""
            raise self._explain(error, connection, "read") from None
        except AzureError as error:
            raise self._explain(error, connection, "read") from None

    def read_url(self, connection: Connection, path: str, *, lifetime: timedelta) -> str:
        """The blob's URL with a read-only SAS for it alone: signed with the account key, or a
        user delegation SAS for the studio's identity; a SAS datastore's URL carries its own SAS."""
        if connection.auth_type == AuthType.SAS_TOKEN:
            return self.container_client(connection).get_blob_client(path).url
        credential = self.script_credential(connection, write=False, path=path, lifetime=lifetime)
        return f"{credential.resource_url}?{credential.sas_token}"

    def copy_from_url(
        self,
        connection: Connection,
        path: str,
        source_url: str,
        *,
        overwrite: bool,
        waiting: Callable[[], None] = lambda: None,
    ) -> UploadOutcome:
        """Copy Blob from the URL: the service reads the source itself. With overwrite off the
        copy is conditional (If-None-Match: *). Within an account the copy is done when the call
        returns; across accounts it may stay pending, and then a copy that fails or is stopped
        is aborted and its blob deleted, so nothing partial stays."""
        target = self.container_client(connection).get_blob_client(path)
        conditions: dict[str, Any] = {} if overwrite else {"match_condition": MatchConditions.IfMissing}
        outcome, copy = self._conditional_write(
            connection, overwrite, lambda: target.start_copy_from_url(source_url, **conditions)
        )
        if outcome == UploadOutcome.SKIPPED:
            return outcome
        status = copy.get("copy_status")
        try:
            while status == "pending":
                waiting()
                time.sleep(COPY_POLL_SECONDS)
                status = target.get_blob_properties().copy.status
            if status != "success":
                raise StorageError(f"The storage service could not copy {paths.name_of(path)!r} ({status}).")
        except BaseException:
            self._abandon_copy(target, str(copy.get("copy_id") or ""))
            raise
        return UploadOutcome.UPLOADED

    @staticmethod
    def _abandon_copy(target: BlobClient, copy_id: str | None) -> None:
        try:
            if copy_id:
                target.abort_copy(copy_id)
        except AzureError:
            pass  # it ended meanwhile
        try:
            target.delete_blob()
        except AzureError:
            pass  # nothing was left

    def move(self, connection: Connection, source: str, destination: str, *, is_folder: bool) -> None:
        """A server-side copy of each blob, then the source blob is deleted (only once its
        copy has succeeded, and only if it was not replaced meanwhile)."""
        container = self.container_client(connection)
        try:
            if not is_folder:
                self._move_blob(connection, container, source, destination)
                return
            if next(iter(container.list_blobs(name_starts_with=f"{destination}/", results_per_page=1)), None):
                raise Conflict(f"A folder {destination!r} is already there: choose another name.")
            for entry in list(self.walk_files(connection, source)):
                self._move_blob(connection, container, entry.path, destination + entry.path[len(source) :])
        except AzureError as error:
            raise self._explain(error, connection, "move") from None

    def _move_blob(self, connection: Connection, container: ContainerClient, source: str, destination: str) -> None:
        source_blob, target = container.get_blob_client(source), container.get_blob_client(destination)
        try:
            etag = source_blob.get_blob_properties().etag
        except ResourceNotFoundError:
            raise NotFound(f"There is no file {source!r} in this datastore.") from None
        try:
            copy = target.start_copy_from_url(
                self._signed_url(connection, source_blob),
                match_condition=MatchConditions.IfMissing,
                source_etag=etag,
                source_match_condition=MatchConditions.IfNotModified,
            )
        except (ResourceExistsError, ResourceModifiedError):
            raise Conflict(f"{destination!r} is already there: choose another name.") from None
        status = copy.get("copy_status")
        while status == "pending":
            time.sleep(COPY_POLL_SECONDS)
            status = target.get_blob_properties().copy.status
        if status != "success":
            raise StorageError(f"The storage service could not copy {source!r} ({status}); it was left in place.")
        try:
            source_blob.delete_blob(etag=etag, match_condition=MatchConditions.IfNotModified)
        except ResourceModifiedError:
            raise Conflict(
                f"{source!r} changed while it was copied: both it and its copy {destination!r} are kept."
            ) from None


BACKEND = BlobBackend()
