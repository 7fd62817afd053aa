"""Azure Data Lake Storage Gen1 and Gen2: service principal
(register_azure_data_lake and register_azure_data_lake_gen2).

As in Azure ML, their credentials are validated on first use unless the user
ticks "Validate now".
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from azure.core.exceptions import AzureError, ClientAuthenticationError, HttpResponseError
from azure.identity import ClientSecretCredential
from azure.storage.filedatalake import DataLakeServiceClient
from django import forms
from django.conf import settings

from ..choices import AuthType
from ..hosts import is_custom_host
from . import fields
from .azure_common import account_url, client_options, explain_storage_error
from .base import AuthMethod, Connection, ServiceCheckFailed, StorageBackend

VALIDATE_NOW = {
    "validate_now": fields.checkbox_field(
        "Validate now", "Check the service principal against the service now instead of on first use."
    )
}


def service_principal_credential(connection: Connection) -> ClientSecretCredential:
    authority_host = urlsplit(connection["authority_url"]).netloc
    return ClientSecretCredential(
        connection["tenant_id"],
        connection["client_id"],
        connection["client_secret"],
        authority=authority_host,
        disable_instance_discovery=is_custom_host(authority_host),
        connection_timeout=min(settings.STORAGE_TIMEOUT_SECONDS, 10),
        read_timeout=settings.STORAGE_TIMEOUT_SECONDS,
        retry_total=0,
    )


def explain_token_failure(error: ClientAuthenticationError) -> ServiceCheckFailed:
    """A refused token request, named by its AADSTS code (never the raw text)."""
    code = re.search(r"AADSTS\d+", str(error))
    return ServiceCheckFailed(
        "The token request failed: Microsoft Entra ID refused the tenant ID, client ID or client secret"
        + (f" ({code.group(0)})" if code else "")
        + ". Check all three, and that the secret has not expired.",
        field="client_secret",
    )


class DataLakeGen2Backend(StorageBackend):
    storage_type = "AzureDataLakeGen2"
    label = "Azure Data Lake Storage Gen2"
    connection_fields = {
        "account_name": fields.account_name_field(),
        "filesystem": fields.container_name_field("Filesystem"),
        "protocol": fields.protocol_field(),
        "endpoint": fields.endpoint_field("core.windows.net"),
    }
    auth_methods = (
        AuthMethod(
            AuthType.SERVICE_PRINCIPAL,
            fields.service_principal_fields(resource_url="https://storage.azure.com/"),
        ),
    )
    options = VALIDATE_NOW
    reach_fields = ("account_name", "protocol", "endpoint", "authority_url")
    validation_deferred = True

    def location(self, settings: Mapping[str, Any]) -> str:
        return f"{settings.get('account_name', '')}/{settings.get('filesystem', '')}"

    def service_client(self, connection: Connection, *, for_check: bool = False) -> DataLakeServiceClient:
        return DataLakeServiceClient(
            account_url(connection, "dfs"),
            credential=service_principal_credential(connection),
            audience=connection["resource_url"].rstrip("/"),
            **client_options(for_check=for_check),
        )

    def check_connection(self, connection: Connection) -> None:
        filesystem = self.service_client(connection, for_check=True).get_file_system_client(connection["filesystem"])
        try:
            next(filesystem.get_paths(recursive=False, max_results=1).by_page(), None)
        except ClientAuthenticationError as error:
            if getattr(error, "status_code", None) is None:
                raise explain_token_failure(error) from None
            raise ServiceCheckFailed(
                "The service refused the token. Check the resource URL and the tenant.", field="resource_url"
            ) from None
        except HttpResponseError as error:
            if error.status_code == 403:
                raise ServiceCheckFailed(
                    f"The token is valid, but the service principal has no access to filesystem "
                    f"{connection['filesystem']!r}. Grant it Storage Blob Data Reader (or Contributor to upload).",
                    field="client_id",
                ) from None
            raise explain_storage_error(
                error, connection, service="dfs", resource="filesystem", resource_field="filesystem"
            ) from None
        except AzureError as error:
            raise explain_storage_error(
                error, connection, service="dfs", resource="filesystem", resource_field="filesystem"
            ) from None


class DataLakeGen1Backend(StorageBackend):
    storage_type = "AzureDataLake"
    label = "Azure Data Lake Storage Gen1"
    connection_fields = {
        "store_name": forms.CharField(
            label="Store name",
            max_length=24,
            validators=[fields.validate_account_name],
        ),
        **fields.subscription_and_resource_group_fields(),
    }
    auth_methods = (
        AuthMethod(
            AuthType.SERVICE_PRINCIPAL,
            fields.service_principal_fields(resource_url="https://datalake.azure.net/"),
        ),
    )
    options = VALIDATE_NOW
    advanced_fields = ("subscription_id", "resource_group")
    reach_fields = ("store_name", "authority_url")
    validation_deferred = True
    notice = (
        "Azure retired Data Lake Storage Gen1 on 2024-02-29. The studio still registers, browses and "
        "transfers Gen1 data so that teams can read it while they migrate to Gen2."
    )

    def location(self, settings: Mapping[str, Any]) -> str:
        return str(settings.get("store_name", ""))


GEN1_BACKEND = DataLakeGen1Backend()
GEN2_BACKEND = DataLakeGen2Backend()
