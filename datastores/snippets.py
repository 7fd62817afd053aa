"""What the pages show for using the studio from a script: this repository's SDK and CLI
(client/, datastore-studio), the datastore's azureml:// URI, azure-ai-ml pointed at this studio
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


def azureml_uri(datastore: Datastore, path: str = "") -> str:
    """The datastore's long-form azureml:// URI (the client's fsspec filesystem opens it)."""
    config = config_json(datastore.workspace.name)
    return (
        f"azureml://subscriptions/{config['subscription_id']}/resourcegroups/{config['resource_group']}"
        f"/workspaces/{datastore.workspace.name}/datastores/{datastore.name}/paths/{path}"
    )


def client_sdk(base_url: str, datastore: Datastore) -> str:
    capabilities = datastore.backend.capabilities
    lines = [
        "# pip install ./client  (datastore-studio, from the studio's repository)",
        f"# export DATASTORE_STUDIO_URL={base_url}",
        "# export DATASTORE_STUDIO_TOKEN=<a personal access token from the Tokens page>",
        "from datastore_studio import Datastore, Workspace",
        "",
        f"ws = Workspace.get({datastore.workspace.name!r})",
        f"datastore = Datastore.get(ws, {datastore.name!r})",
    ]
    if capabilities.upload:
        lines.append("datastore.upload('./data', target_path='data', overwrite=False)")
    if capabilities.browse:
        lines.append("datastore.download('./downloaded', prefix='data')")
    if capabilities.tables:
        lines.append("print(datastore.tables())")
    if capabilities.queries:
        lines.append("print(datastore.query('SELECT 1'))")
    if capabilities.blob_protocol_paths:
        lines += [
            "",
            "import pandas as pd  # azureml:// paths, straight to storage",
            f"df = pd.read_csv('azureml://datastores/{datastore.name}/paths/data/train.csv')",
        ]
    return "\n".join(lines) + "\n"


def client_cli(base_url: str, datastore: Datastore) -> str:
    capabilities = datastore.backend.capabilities
    where = f"-w {datastore.workspace.name}"
    lines = [
        f"datastore-studio login --url {base_url}  # asks for a personal access token",
        f"datastore-studio datastore show {datastore.name} {where}",
    ]
    if capabilities.browse:
        lines.append(f"datastore-studio ls {datastore.name} {where}")
        lines.append(f"datastore-studio download ./downloaded -d {datastore.name} --prefix data {where}")
    if capabilities.upload:
        lines.append(f"datastore-studio upload ./data -d {datastore.name} --target-path data {where}")
    if capabilities.tables:
        lines.append(f"datastore-studio sql tables {datastore.name} {where}")
    if capabilities.queries:
        lines.append(f"datastore-studio sql query {datastore.name} 'SELECT 1' -o csv {where}")
    return "\n".join(lines) + "\n"


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
    shown = [
        {"title": "Python SDK (datastore-studio)", "code": client_sdk(base_url, datastore)},
        {"title": "Command line (datastore-studio)", "code": client_cli(base_url, datastore)},
    ]
    if capabilities.blob_protocol_paths:
        shown.append({"title": "azureml:// URI", "code": azureml_uri(datastore) + "\n"})
    if backend.arm is not None:
        shown.append(
            {
                "title": "Azure ML SDK v2 (azure-ai-ml)",
                "code": ml_client(base_url, datastore.workspace.name, datastore.name),
            }
        )
    shown.append({"title": "REST API (curl)", "code": "\n".join(curl) + "\n"})
    return shown
