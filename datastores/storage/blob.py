"""Azure Blob Storage: account key or SAS token (register_azure_blob_container)."""

from __future__ import annotations

import base64
from collections.abc import Iterator, Mapping
from functools import partial
from typing import Any

from azure.core import MatchConditions
from azure.core.exceptions import (
    AzureError,
    HttpResponseError,
    ResourceExistsError,
    ResourceModifiedError,
    ResourceNotFoundError,
)
from azure.storage.blob import BlobBlock, BlobPrefix, BlobProperties, BlobServiceClient, ContainerClient, ContentSettings

from ..choices import AuthType
from . import fields, paths
from .azure_common import (
    account_url,
    blocks_of,
    check_by_listing,
    client_options,
    explain_transfer_error,
    folder_entry,
    storage_credential,
)
from .parallel import in_order
from .base import AuthMethod, Connection, Download, Entry, FolderPage, StorageBackend, StorageError, UploadOutcome
from .paths import guess_content_type

BLOCK_SIZE = 8 * 1024 * 1024
# Measured with bench/run-transfer: more requests at once did not move data faster through
# one gunicorn worker (Azurite was the bottleneck) but cost CPU and memory; these keep a
# transfer's memory near 50 MiB whatever the file's size.
BLOCKS_IN_FLIGHT = 3  # upload: blocks staged at once; the next one is read from the request meanwhile
RANGES_AHEAD = 2  # download: ranges being fetched while the previous one is sent on


class BlobBackend(StorageBackend):
    storage_type = "AzureBlob"
    label = "Azure Blob Storage"
    connection_fields = {
        "account_name": fields.account_name_field(),
        "container_name": fields.container_name_field(),
        "protocol": fields.protocol_field(),
        "endpoint": fields.endpoint_field("core.windows.net"),
        "grant_workspace_access": fields.checkbox_field(
            "Grant workspace access",
            "For a storage account in a virtual network: let the workspace's managed identity reach it.",
        ),
        **fields.subscription_and_resource_group_fields(),
    }
    auth_methods = (
        AuthMethod(AuthType.ACCOUNT_KEY, fields.account_key_fields()),
        AuthMethod(AuthType.SAS_TOKEN, fields.sas_token_fields()),
    )
    options = {
        "create_if_not_exists": fields.create_if_not_exists_field(),
        "skip_validation": fields.skip_validation_field(),
    }
    advanced_fields = ("grant_workspace_access", "subscription_id", "resource_group")
    reach_fields = ("account_name", "protocol", "endpoint")
    upload_block_size = BLOCK_SIZE

    def location(self, settings: Mapping[str, Any]) -> str:
        return f"{settings.get('account_name', '')}/{settings.get('container_name', '')}"

    def script_snippet(self, datastore_name: str, settings: Mapping[str, Any]) -> str:
        return super().script_snippet(datastore_name, settings) + (
            "\n# Upload a folder, then download it again\n"
            "datastore.upload(src_dir='./data', target_path='data', overwrite=False, show_progress=True)\n"
            "datastore.download(target_path='./downloaded', prefix='data', show_progress=True)\n"
        )

    def service_client(self, connection: Connection, *, for_check: bool = False) -> BlobServiceClient:
        # Every GET asks for one block (not the SDK's first 32 MiB, then 4 MiB ranges): a range
        # that matches how blocks are staged costs the service far less per byte. Reading the
        # response in one piece of that size spares a copy (the SDK joins the pieces it reads).
        return BlobServiceClient(
            account_url(connection, "blob"),
            credential=storage_credential(connection),
            max_single_get_size=BLOCK_SIZE,
            max_chunk_get_size=BLOCK_SIZE,
            connection_data_block_size=BLOCK_SIZE,
            **client_options(for_check=for_check),
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

    def _explain(self, error: AzureError, connection: Connection) -> StorageError:
        return explain_transfer_error(error, connection, service="blob", resource="container", resource_field="container_name")

    def list_folder(self, connection, folder, *, name_prefix="", continuation=None, page_size=200) -> FolderPage:
        prefix = f"{folder}/{name_prefix}" if folder else name_prefix
        pages = self.container_client(connection).walk_blobs(
            name_starts_with=prefix or None, delimiter="/", results_per_page=page_size
        ).by_page(continuation_token=continuation)
        try:
            page = list(next(pages, []))
        except AzureError as error:
            raise self._explain(error, connection) from None
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

    def walk_files(self, connection, folder) -> Iterator[Entry]:
        blobs = self.container_client(connection).list_blobs(name_starts_with=f"{folder}/" if folder else None)
        try:
            for blob in blobs:
                yield self._file_entry(blob)
        except AzureError as error:
            raise self._explain(error, connection) from None

    def download(self, connection, path) -> Download:
        """Stream the blob one block-sized range after another, fetching a few ahead in parallel.

        The first GET brings the size, the properties and the first range; every later range is
        conditional on the first one's ETag, so a blob replaced mid-download breaks the stream
        instead of mixing two versions."""
        blob = self.container_client(connection).get_blob_client(path)
        try:
            first = blob.download_blob()
        except ResourceNotFoundError:
            raise StorageError(f"There is no file {path!r} in this datastore.") from None
        except AzureError as error:
            raise self._explain(error, connection) from None
        unchanged = {"etag": first.properties.etag, "match_condition": MatchConditions.IfNotModified}

        def fetch_range(offset: int) -> bytes:
            part = blob.download_blob(offset=offset, length=min(BLOCK_SIZE, first.size - offset), **unchanged)
            return b"".join(part.chunks())  # one GET: a range never exceeds max_single_get_size

        def chunks() -> Iterator[bytes]:
            yield next(iter(first.chunks()), b"")
            ranges = (partial(fetch_range, offset) for offset in range(BLOCK_SIZE, first.size, BLOCK_SIZE))
            yield from in_order(ranges, window=RANGES_AHEAD)

        return Download(
            name=paths.name_of(path),
            size=first.size,
            content_type=first.properties.content_settings.content_type or "application/octet-stream",
            chunks=chunks(),
        )

    def upload(self, connection, path, chunks, *, overwrite, content_type="", size=None) -> UploadOutcome:
        """Stage blocks (several at once), then commit them in one call.

        Nothing is visible until the commit, so a failed upload leaves nothing behind;
        with overwrite off the commit is conditional (If-None-Match: *), so a racing
        upload of the same name is never silently replaced.
        """
        blob = self.container_client(connection).get_blob_client(path)
        block_ids: list[str] = []

        def stage_blocks():
            for number, block in enumerate(blocks_of(chunks, self.upload_block_size)):
                block_ids.append(base64.b64encode(f"{number:08d}".encode()).decode())
                yield partial(blob.stage_block, block_ids[-1], block)

        try:
            for _staged in in_order(stage_blocks(), window=BLOCKS_IN_FLIGHT):
                pass
            conditions = {} if overwrite else {"if_none_match": "*"}
            blob.commit_block_list(
                [BlobBlock(block_id) for block_id in block_ids],
                content_settings=ContentSettings(content_type=content_type or guess_content_type(path)),
                **conditions,
            )
        except (ResourceExistsError, ResourceModifiedError):
            return UploadOutcome.SKIPPED
        except HttpResponseError as error:
            if error.status_code in (409, 412) and not overwrite:
                return UploadOutcome.SKIPPED
            raise self._explain(error, connection) from None
        except AzureError as error:
            raise self._explain(error, connection) from None
        return UploadOutcome.UPLOADED

    def delete(self, connection, path) -> None:
        try:
            self.container_client(connection).delete_blob(path)
        except ResourceNotFoundError:
            raise StorageError(f"There is no file {path!r} in this datastore.") from None
        except AzureError as error:
            raise self._explain(error, connection) from None


BACKEND = BlobBackend()
