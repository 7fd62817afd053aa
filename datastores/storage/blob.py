"""Azure Blob Storage: account key or SAS token (register_azure_blob_container)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from azure.storage.blob import BlobServiceClient

from ..choices import AuthType
from . import fields
from .azure_common import account_url, check_by_listing, client_options, storage_credential
from .base import AuthMethod, Connection, StorageBackend


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

    def location(self, settings: Mapping[str, Any]) -> str:
        return f"{settings.get('account_name', '')}/{settings.get('container_name', '')}"

    def script_snippet(self, datastore_name: str, settings: Mapping[str, Any]) -> str:
        return super().script_snippet(datastore_name, settings) + (
            "\n# Upload a folder, then download it again\n"
            "datastore.upload(src_dir='./data', target_path='data', overwrite=False, show_progress=True)\n"
            "datastore.download(target_path='./downloaded', prefix='data', show_progress=True)\n"
        )

    def service_client(self, connection: Connection, *, for_check: bool = False) -> BlobServiceClient:
        return BlobServiceClient(
            account_url(connection, "blob"), credential=storage_credential(connection), **client_options(for_check=for_check)
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


BACKEND = BlobBackend()
