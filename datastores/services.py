"""Writes: every change to workspaces, datastores and the files in them goes through here."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from .crypto import decrypt_secrets, encrypt_secrets, rotate_token
from .models import Datastore, Workspace
from .storage import (
    AuthType,
    Connection,
    InvalidInput,
    StorageBackend,
    StorageError,
    UploadOutcome,
    backend_for,
    workspace_stores,
)
from .storage.paths import clean_path, join

# Azure ML's name for the default datastore every workspace gets; the default moves back to it.
WORKSPACE_BLOB_STORE = "workspaceblobstore"


class DatastoreNameTaken(Exception):
    pass


def _split_values(
    backend: StorageBackend, auth_type: str, values: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    stored = {name: values.get(name) for name in backend.setting_names(auth_type)}
    secrets = {name: values[name] for name in backend.secret_names(auth_type) if values.get(name)}
    return stored, secrets


@sensitive_variables("values", "secrets")
def datastore_register(
    *,
    workspace: Workspace,
    name: str,
    storage_type: str,
    auth_type: str,
    values: Mapping[str, Any],
    overwrite: bool = False,
    created_by: Any = None,
    unchecked_reason: str = "",
) -> Datastore:
    """Check the service (unless skipped or deferred), then save; nothing is saved on failure.

    `values` are the cleaned form values: connection fields, credentials and options.
    """
    backend = backend_for(storage_type)
    existing = Datastore.objects.filter(workspace=workspace, name=name).first()
    if existing and not overwrite:
        raise DatastoreNameTaken(name)
    checked = backend.wants_check(values)
    note = backend.verify(Connection(storage_type, AuthType(auth_type), values)) if checked else ""
    stored, secrets = _split_values(backend, auth_type, values)
    with transaction.atomic():
        datastore = existing or Datastore(workspace=workspace, name=name, created_by=created_by)
        datastore.storage_type = storage_type
        datastore.auth_type = auth_type
        datastore.connection_settings = stored
        datastore.encrypted_secrets = encrypt_secrets(secrets)
        datastore.secrets_updated_at = timezone.now()
        _note_check(datastore, ok=True if checked else None, message=note or unchecked_reason)
        datastore.full_clean(exclude=["created_by"])
        datastore.save()
    return datastore


def _note_check(datastore: Datastore, *, ok: bool | None, message: str = "") -> None:
    datastore.last_check_ok = ok
    datastore.last_check_message = message
    datastore.last_checked_at = timezone.now() if ok is not None else None


@sensitive_variables("values", "merged", "stored_secrets", "secrets")
def datastore_update_auth(*, datastore: Datastore, auth_type: str, values: Mapping[str, Any]) -> Datastore:
    """Change the authentication type, credentials and where they are sent.

    A blank secret keeps the stored one, unless the authentication type or a
    field that says where the secret is sent changed: a stored key is never
    sent to a new host.
    """
    backend = datastore.backend
    stored_secrets = decrypt_secrets(datastore.encrypted_secrets)
    reach_changed = auth_type != datastore.auth_type or _reach_changed(backend, auth_type, datastore, values)
    merged = dict(values)
    for name in backend.secret_names(auth_type):
        if not values.get(name):
            if reach_changed or name not in stored_secrets:
                raise InvalidInput(
                    "Type the secret again: the authentication type, account, host or endpoint changed, "
                    "and a stored secret is never sent to a new place."
                    if reach_changed
                    else "This field is required.",
                    field=name,
                )
            merged[name] = stored_secrets[name]
    checked = backend.wants_check(merged)
    note = backend.verify(Connection(datastore.storage_type, AuthType(auth_type), merged)) if checked else ""
    stored, secrets = _split_values(backend, auth_type, merged)
    secrets_changed = secrets != stored_secrets
    datastore.auth_type = auth_type
    datastore.connection_settings = stored
    datastore.encrypted_secrets = encrypt_secrets(secrets)
    if secrets_changed:
        datastore.secrets_updated_at = timezone.now()
    _note_check(datastore, ok=True if checked else None, message=note)
    datastore.full_clean(exclude=["created_by"])
    datastore.save()
    return datastore


def _reach_changed(backend: StorageBackend, auth_type: str, datastore: Datastore, values: Mapping[str, Any]) -> bool:
    """Whether a field that says where a secret goes (backend.reach_fields) differs from the
    stored one, both as their field cleans them (so 'Core.Windows.Net' is no change)."""
    form_fields = backend.form_fields(auth_type)
    for name in backend.reach_fields:
        if name not in backend.setting_names(auth_type):
            continue
        stored = datastore.connection_settings.get(name)
        try:
            stored = form_fields[name].clean(stored) if stored not in (None, "") else stored
        except ValidationError:
            return True
        if str(values.get(name) or "") != str(stored or ""):
            return True
    return False


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


@transaction.atomic
def workspace_create(*, name: str, description: str = "", created_by: Any = None) -> Workspace:
    """Create a workspace with the datastores every workspace gets on the workspace storage
    account (workspaceblobstore, the default, and workspacefilestore). If the account cannot
    be used, nothing is created."""
    workspace = Workspace(name=name, description=description)
    workspace.full_clean()
    workspace.save()
    for store in workspace_stores(settings.WORKSPACE_STORAGE_CONNECTION_STRING, str(workspace.uid)):
        datastore = datastore_register(
            workspace=workspace,
            name=store.name,
            storage_type=store.storage_type,
            auth_type=store.auth_type,
            values=store.values,
            created_by=created_by,
            unchecked_reason=store.unchecked_reason,
        )
        if store.is_default:
            datastore_set_default(datastore)
    return workspace


def datastore_test_connection(datastore: Datastore) -> tuple[bool, str]:
    """Check the stored credentials against the service now, and remember the outcome."""
    try:
        note = datastore.backend.verify(datastore.connection())
    except StorageError as failure:
        ok, message, note = False, failure.message, failure.message
    else:
        ok, message = True, " ".join(filter(None, ["Connection succeeded: the stored credentials reach the data.", note]))
    _note_check(datastore, ok=ok, message=note)  # a success keeps only its warning, shown on the datastore's pages
    datastore.save(update_fields=["last_check_ok", "last_check_message", "last_checked_at"])
    return ok, message


# --- files -------------------------------------------------------------------------------
# Paths a user typed are checked here (a BadPath is an InvalidInput); the backends get clean paths.


def file_upload(
    *,
    datastore: Datastore,
    path: str,
    chunks: Iterable[bytes],
    overwrite: bool,
    content_type: str = "",
    size: int | None = None,
) -> UploadOutcome:
    """Write one file from a stream of chunks; SKIPPED when it exists and overwrite is off."""
    clean = clean_path(path)
    if not clean:
        raise InvalidInput("Name the file.")
    return datastore.backend.upload(
        datastore.connection(), clean, chunks, overwrite=overwrite, content_type=content_type, size=size
    )


def file_delete(*, datastore: Datastore, path: str) -> str:
    """Delete a file (or, where folders are real, a folder with everything in it). Returns the clean path."""
    clean = clean_path(path)
    if not clean:
        raise InvalidInput("Choose a file to delete.")
    datastore.backend.delete(datastore.connection(), clean)
    return clean


def folder_create(*, datastore: Datastore, parent: str, name: str) -> str:
    """Create a folder `name` in `parent`. Returns its path."""
    parent_folder = clean_path(parent)
    folder = clean_path(join(parent_folder, name.strip()))
    if folder == parent_folder:
        raise InvalidInput("Name the new folder.")
    datastore.backend.create_folder(datastore.connection(), folder)
    return folder


def datastore_secrets_rotate() -> int:
    """Re-encrypt every stored secret under the first key. Returns how many rows were rewritten."""
    count = 0
    with transaction.atomic():
        for datastore in Datastore.objects.select_for_update().exclude(encrypted_secrets=""):
            datastore.encrypted_secrets = rotate_token(datastore.encrypted_secrets)
            datastore.save(update_fields=["encrypted_secrets"])
            count += 1
    return count
