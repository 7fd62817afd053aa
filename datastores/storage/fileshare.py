"""Azure File Share: account key or SAS token (register_azure_file_share)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from azure.storage.fileshare import ShareServiceClient

from ..choices import AuthType
from . import fields
from .azure_common import account_url, check_by_listing, client_options, storage_credential
from .base import AuthMethod, Connection, StorageBackend

AZURITE_ACCOUNT = "devstoreaccount1"


class FileShareBackend(StorageBackend):
    storage_type = "AzureFile"
    label = "Azure File Share"
    connection_fields = {
        "account_name": fields.account_name_field(),
        "file_share_name": fields.container_name_field("File share name"),
        "protocol": fields.protocol_field(),
        "endpoint": fields.endpoint_field("core.windows.net"),
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

    def location(self, settings: Mapping[str, Any]) -> str:
        return f"{settings.get('account_name', '')}/{settings.get('file_share_name', '')}"

    def has_file_service(self, settings: Mapping[str, Any]) -> bool:
        """False for the local Azurite emulator, which has no File service."""
        return settings.get("account_name") != AZURITE_ACCOUNT

    def page_notice(self, settings: Mapping[str, Any]) -> str:
        if not self.has_file_service(settings):
            return (
                "This datastore points at the local Azurite emulator, which offers no Azure Files: "
                "it is registered, but its share cannot be reached here."
            )
        return self.notice

    def service_client(self, connection: Connection, *, for_check: bool = False) -> ShareServiceClient:
        return ShareServiceClient(
            account_url(connection, "file"), credential=storage_credential(connection), **client_options(for_check=for_check)
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


BACKEND = FileShareBackend()
