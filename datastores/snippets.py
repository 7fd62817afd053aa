"""What the pages show for using the studio from a script: azure-ai-ml pointed at this studio
(its cloud_metadata), curl against /api/v1/, and the managed-identity settings for a job.
Nothing here names a storage type: it asks a backend for its capabilities and ARM shape."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from .models import Datastore

CLOUD_NAME = "DatastoreStudio"


def config_json(workspace_name: str) -> dict[str, str]:
    return {
        "subscription_id": settings.STUDIO_SUBSCRIPTION_ID,
        "resource_group": settings.STUDIO_RESOURCE_GROUP,
        "workspace_name": workspace_name,
    }


def cloud_metadata(base_url: str) -> dict[str, str]:
    """azure-ai-ml's cloud_metadata with every endpoint at the studio (all six keys are needed)."""
    return {
        "azure_portal": base_url,
        "resource_manager": base_url,
        "active_directory": base_url + "login/",
        "aml_resource_id": base_url,
        "storage_endpoint": "core.windows.net",
        "registry_discovery_endpoint": base_url,
    }


def ml_client(base_url: str, workspace_name: str, datastore_name: str = "") -> str:
    metadata = ",\n".join(f"        {key!r}: {value!r}" for key, value in cloud_metadata(base_url).items())
    lines = [
        "# pip install azure-ai-ml azure-identity",
        "# export IDENTITY_ENDPOINT=" + identity_endpoint(base_url),
        "# export IDENTITY_HEADER=<a personal access token from the Tokens page>",
        "from azure.ai.ml import MLClient",
        "from azure.identity import DefaultAzureCredential",
        "",
        "ml_client = MLClient.from_config(",
        "    DefaultAzureCredential(),",
        "    path='config.json',  # Download config.json on the workspace page",
        f"    cloud={CLOUD_NAME!r},",
        "    cloud_metadata={",
        metadata + ",",
        "    },",
        ")",
    ]
    if datastore_name:
        lines += [
            "",
            f"datastore = ml_client.datastores.get({datastore_name!r}, include_secrets=True)  # a short-lived SAS",
        ]
    else:
        lines += ["", "for datastore in ml_client.datastores.list():", "    print(datastore.name, datastore.type)"]
    return "\n".join(lines) + "\n"


def identity_endpoint(base_url: str) -> str:
    return base_url + "api/identity/token"


def identity(base_url: str) -> str:
    return (
        f"IDENTITY_ENDPOINT={identity_endpoint(base_url)}\n"
        "IDENTITY_HEADER=<a personal access token>\n"
        "# DefaultAzureCredential then gets short-lived tokens for this studio, as in an Azure ML job.\n"
    )


def curl_workspace(base_url: str, workspace_name: str) -> str:
    api = f"{base_url}api/v1/workspaces/{workspace_name}"
    return (
        "export STUDIO_TOKEN=<a personal access token from the Tokens page>\n"
        f'curl -H "Authorization: Bearer $STUDIO_TOKEN" {api}/datastores\n'
        f'curl -H "Authorization: Bearer $STUDIO_TOKEN" {api}/default-datastore\n'
    )


def for_datastore(base_url: str, datastore: Datastore) -> list[dict[str, Any]]:
    """The detail page's "Use it from a script" snippets: (title, code) in the order shown."""
    backend = datastore.backend
    capabilities = backend.capabilities
    api = f"{base_url}api/v1/workspaces/{datastore.workspace.name}/datastores/{datastore.name}"
    auth = '-H "Authorization: Bearer $STUDIO_TOKEN"'
    curl = ["export STUDIO_TOKEN=<a personal access token from the Tokens page>", f"curl {auth} {api}"]
    if capabilities.browse:
        curl += [
            f"curl {auth} '{api}/folder?path='",
            f"curl {auth} -o a.csv {api}/files/data/a.csv",
        ]
    if capabilities.upload:
        curl.append(f"curl {auth} -T a.csv '{api}/files/data/a.csv?overwrite=true'")
    if capabilities.tables:
        curl.append(f"curl {auth} {api}/tables")
    if capabilities.queries:
        curl.append(f"curl {auth} -H 'Content-Type: application/json' -d '{{\"statement\": \"SELECT 1\"}}' {api}/query")
    if capabilities.script_credentials:
        curl.append(
            f"curl {auth} -X POST -H 'Content-Type: application/json' -d '{{}}' {api}/credentials  # a short-lived SAS"
        )
    shown = [{"title": "REST API (curl)", "code": "\n".join(curl) + "\n"}]
    if backend.arm is not None:
        shown.insert(
            0,
            {
                "title": "Azure ML SDK v2 (azure-ai-ml)",
                "code": ml_client(base_url, datastore.workspace.name, datastore.name),
            },
        )
    return shown
