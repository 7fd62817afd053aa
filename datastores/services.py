"""Writes: every change to workspaces and datastores goes through here."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from .choices import AuthType
from .crypto import decrypt_secrets, encrypt_secrets, rotate_token
from .models import Datastore, Workspace
from .storage import BACKENDS, Connection, ServiceCheckFailed, backend_for

WORKSPACE_BLOB_STORE = "workspaceblobstore"
WORKSPACE_FILE_STORE = "workspacefilestore"


class DatastoreNameTaken(Exception):
    pass


def _split_values(backend, auth_type: str, values: Mapping[str, Any]) -> tuple[dict, dict]:
    stored = {name: values.get(name) for name in backend.setting_names(auth_type)}
    secrets = {name: values[name] for name in backend.secret_names(auth_type) if values.get(name)}
    return stored, secrets


def datastore_register(
    *,
    workspace: Workspace,
    name: str,
    storage_type: str,
    auth_type: str,
    values: Mapping[str, Any],
    overwrite: bool = False,
    created_by=None,
) -> Datastore:
    """Check the service (unless skipped or deferred), then save; nothing is saved on failure.

    `values` are the cleaned form values: connection fields, credentials and options.
    """
    backend = backend_for(storage_type)
    existing = Datastore.objects.filter(workspace=workspace, name=name).first()
    if existing and not overwrite:
        raise DatastoreNameTaken(name)
    if backend.wants_check(values):
        backend.check_connection(Connection(storage_type, AuthType(auth_type), values))
    stored, secrets = _split_values(backend, auth_type, values)
    with transaction.atomic():
        datastore = existing or Datastore(workspace=workspace, name=name, created_by=created_by)
        datastore.storage_type = storage_type
        datastore.auth_type = auth_type
        datastore.connection_settings = stored
        datastore.encrypted_secrets = encrypt_secrets(secrets)
        datastore.secrets_updated_at = timezone.now()
        datastore.full_clean(exclude=["created_by"])
        datastore.save()
    return datastore


def datastore_update_auth(*, datastore: Datastore, auth_type: str, values: Mapping[str, Any]) -> Datastore:
    """Change the authentication type, credentials and where they are sent.

    A blank secret keeps the stored one, unless the authentication type or a
    field that says where the secret is sent changed: a stored key is never
    sent to a new host.
    """
    backend = datastore.backend
    stored_secrets = decrypt_secrets(datastore.encrypted_secrets)
    reach_changed = auth_type != datastore.auth_type or any(
        str(values.get(name) or "") != str(datastore.connection_settings.get(name) or "")
        for name in backend.reach_fields
        if name in backend.setting_names(auth_type)
    )
    merged = dict(values)
    for name in backend.secret_names(auth_type):
        if not values.get(name):
            if reach_changed or name not in stored_secrets:
                raise ServiceCheckFailed(
                    "Type the secret again: the authentication type, account, host or endpoint changed, "
                    "and a stored secret is never sent to a new place."
                    if reach_changed
                    else "This field is required.",
                    field=name,
                )
            merged[name] = stored_secrets[name]
    if backend.wants_check(merged):
        backend.check_connection(Connection(datastore.storage_type, AuthType(auth_type), merged))
    stored, secrets = _split_values(backend, auth_type, merged)
    secrets_changed = secrets != stored_secrets
    datastore.auth_type = auth_type
    datastore.connection_settings = stored
    datastore.encrypted_secrets = encrypt_secrets(secrets)
    if secrets_changed:
        datastore.secrets_updated_at = timezone.now()
    datastore.full_clean(exclude=["created_by"])
    datastore.save()
    return datastore


@transaction.atomic
def datastore_set_default(datastore: Datastore) -> None:
    Datastore.objects.filter(workspace=datastore.workspace, is_default=True).exclude(pk=datastore.pk).update(
        is_default=False
    )
    Datastore.objects.filter(pk=datastore.pk).update(is_default=True)
    datastore.is_default = True


@transaction.atomic
def datastore_unregister(datastore: Datastore) -> Datastore | None:
    """Remove the registration (never the data). Returns the new default, if the default was removed.

    Like Azure ML, the default moves back to workspaceblobstore, or to the
    oldest remaining datastore when that is gone too.
    """
    workspace, was_default = datastore.workspace, datastore.is_default
    datastore.delete()
    if not was_default:
        return None
    remaining = workspace.datastores.all()
    successor = remaining.filter(name=WORKSPACE_BLOB_STORE).first() or remaining.order_by("created_at").first()
    if successor:
        datastore_set_default(successor)
    return successor


def parse_connection_string(connection_string: str) -> dict[str, str]:
    parts = (part.split("=", 1) for part in connection_string.strip().strip(";").split(";") if "=" in part)
    return {key.strip(): value.strip() for key, value in parts}


def workspace_storage_values(service: str) -> dict[str, str]:
    """Account, protocol and endpoint of the workspace storage account for 'blob' or 'file'."""
    parsed = parse_connection_string(settings.WORKSPACE_STORAGE_CONNECTION_STRING)
    explicit = parsed.get({"blob": "BlobEndpoint", "file": "FileEndpoint"}[service]) or parsed.get("BlobEndpoint")
    if explicit:
        url = urlsplit(explicit)
        protocol, endpoint = url.scheme, url.netloc
        if url.netloc.startswith(parsed["AccountName"] + "."):
            endpoint = url.netloc.split(".", 2)[2]
    else:
        protocol = parsed.get("DefaultEndpointsProtocol", "https")
        endpoint = parsed.get("EndpointSuffix", "core.windows.net")
    return {
        "account_name": parsed["AccountName"],
        "account_key": parsed["AccountKey"],
        "protocol": protocol,
        "endpoint": endpoint,
    }


@transaction.atomic
def workspace_create(*, name: str, description: str = "", created_by=None) -> Workspace:
    """Create a workspace with its workspaceblobstore (the default) and workspacefilestore.

    The blob container is created and checked; if the storage account cannot
    be reached, nothing is created.
    """
    workspace = Workspace(name=name, description=description)
    workspace.full_clean()
    workspace.save()
    blob_backend, file_backend = BACKENDS["AzureBlob"], BACKENDS["AzureFile"]
    blob_values = {
        **workspace_storage_values("blob"),
        "container_name": f"azureml-blobstore-{workspace.uid}",
        "create_if_not_exists": True,
    }
    blob = datastore_register(
        workspace=workspace,
        name=WORKSPACE_BLOB_STORE,
        storage_type=blob_backend.storage_type,
        auth_type=AuthType.ACCOUNT_KEY,
        values=blob_backend.clean_values(AuthType.ACCOUNT_KEY, blob_values),
        created_by=created_by,
    )
    datastore_set_default(blob)
    file_values = {
        **workspace_storage_values("file"),
        "file_share_name": f"azureml-filestore-{workspace.uid}",
        "create_if_not_exists": True,
    }
    # Azurite offers no File service; the datastore's page says so (see the File Share module).
    file_values["skip_validation"] = not file_backend.has_file_service(file_values)
    datastore_register(
        workspace=workspace,
        name=WORKSPACE_FILE_STORE,
        storage_type=file_backend.storage_type,
        auth_type=AuthType.ACCOUNT_KEY,
        values=file_backend.clean_values(AuthType.ACCOUNT_KEY, file_values),
        created_by=created_by,
    )
    return workspace


def datastore_secrets_rotate() -> int:
    """Re-encrypt every stored secret under the first key. Returns how many rows were rewritten."""
    count = 0
    with transaction.atomic():
        for datastore in Datastore.objects.select_for_update().exclude(encrypted_secrets=""):
            datastore.encrypted_secrets = rotate_token(datastore.encrypted_secrets)
            datastore.save(update_fields=["encrypted_secrets"])
            count += 1
    return count
