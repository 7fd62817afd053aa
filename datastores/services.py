"""Writes: every change to workspaces, datastores and the files in them goes through here."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from . import tokens
from .access import Actor
from .audit import AuditAction, Outcome, record, recorded
from .crypto import decrypt_secrets, encrypt_secrets, rotate_token
from .deadline import within_deadline
from .models import AccessToken, AuditEntry, Datastore, Membership, Role, Workspace
from .selectors import direct_transfer_forget
from .storage import (
    AuthType,
    Conflict,
    Connection,
    DirectGrant,
    InvalidInput,
    NotFound,
    ScriptCredential,
    StorageBackend,
    StorageError,
    UploadOutcome,
    backend_for,
    workspace_stores,
)
from .storage.paths import clean_path, join, name_of

# Azure ML's name for the default datastore every workspace gets; the default moves back to it.
WORKSPACE_BLOB_STORE = "workspaceblobstore"


class DatastoreNameTaken(Exception):
    pass


class MembershipRefused(Exception):
    """A member cannot be added, changed or removed that way; the message says why."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def _server(actor: Actor | None) -> Actor:
    """Services called without an actor act as the server's administrator (tests, set-up code)."""
    return actor or Actor()


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
    unchecked_reason: str = "",
    actor: Actor | None = None,
) -> Datastore:
    """Check the service (unless skipped or deferred), then save; nothing is saved on failure.

    `values` are the cleaned form values: connection fields, credentials and options.
    """
    actor = _server(actor)
    backend = backend_for(storage_type)
    existing = Datastore.objects.filter(workspace=workspace, name=name).first()
    if existing and not overwrite:
        raise DatastoreNameTaken(name)
    _refuse_unavailable(backend, auth_type)
    checked = backend.wants_check(values)
    note = backend.verify(Connection(storage_type, AuthType(auth_type), values)) if checked else ""
    stored, secrets = _split_values(backend, auth_type, values)
    with transaction.atomic():
        datastore = existing or Datastore(workspace=workspace, name=name, created_by=actor.user)
        datastore.storage_type = storage_type
        datastore.auth_type = auth_type
        datastore.connection_settings = stored
        datastore.encrypted_secrets = encrypt_secrets(secrets)
        datastore.secrets_updated_at = timezone.now()
        _note_check(datastore, ok=True if checked else None, message=note or unchecked_reason)
        datastore.full_clean(exclude=["created_by"])
        datastore.save()
        record(
            actor,
            AuditAction.DATASTORE_OVERWRITTEN if existing else AuditAction.DATASTORE_REGISTERED,
            workspace=workspace,
            datastore=name,
            detail=f"{backend.label}, {datastore.get_auth_type_display()}" + ("" if checked else ", not checked"),
        )
    return datastore


def _refuse_unavailable(backend: StorageBackend, auth_type: str) -> None:
    """An authentication type the studio does not offer now (a setting turned it off)."""
    reason = backend.unavailable_reason(auth_type)
    if reason:
        raise InvalidInput(reason, field="auth_type")


def _note_check(datastore: Datastore, *, ok: bool | None, message: str = "") -> None:
    datastore.last_check_ok = ok
    datastore.last_check_message = message
    datastore.last_checked_at = timezone.now() if ok is not None else None


@sensitive_variables("values", "merged", "stored_secrets", "secrets")
def datastore_update_auth(
    *, datastore: Datastore, auth_type: str, values: Mapping[str, Any], actor: Actor | None = None
) -> Datastore:
    """Change the authentication type, credentials and where they are sent.

    A blank secret keeps the stored one, unless the authentication type or a
    field that says where the secret is sent changed: a stored key is never
    sent to a new host.
    """
    backend = datastore.backend
    _refuse_unavailable(backend, auth_type)
    stored_secrets = decrypt_secrets(datastore.encrypted_secrets)
    reach_changed = auth_type != datastore.auth_type or _reach_changed(backend, auth_type, datastore, values)
    merged = dict(values)
    credential_fields = backend.auth_method(auth_type).fields
    for name in backend.secret_names(auth_type):
        if values.get(name):
            continue
        if name in stored_secrets and reach_changed:
            raise InvalidInput(
                "Type the secret again: the authentication type, account, host or endpoint changed, "
                "and a stored secret is never sent to a new place.",
                field=name,
            )
        if name in stored_secrets:
            merged[name] = stored_secrets[name]
        elif credential_fields[name].required:
            raise InvalidInput("This field is required.", field=name)
    checked = backend.wants_check(merged)
    note = backend.verify(Connection(datastore.storage_type, AuthType(auth_type), merged)) if checked else ""
    stored, secrets = _split_values(backend, auth_type, merged)
    changed = sorted(
        {
            name
            for name in {*stored, *datastore.connection_settings}
            if stored.get(name) != datastore.connection_settings.get(name)
        }
        | {name for name in {*secrets, *stored_secrets} if secrets.get(name) != stored_secrets.get(name)}
        | ({"auth_type"} if auth_type != datastore.auth_type else set())
    )
    datastore.auth_type = auth_type
    datastore.connection_settings = stored
    datastore.encrypted_secrets = encrypt_secrets(secrets)
    if secrets != stored_secrets:
        datastore.secrets_updated_at = timezone.now()
    _note_check(datastore, ok=True if checked else None, message=note)
    datastore.full_clean(exclude=["created_by"])
    with transaction.atomic():
        datastore.save()
        record(
            _server(actor),
            AuditAction.AUTHENTICATION_UPDATED,
            workspace=datastore.workspace,
            datastore=datastore.name,
            detail="Changed: " + (", ".join(changed) or "nothing"),
        )
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
def datastore_set_default(datastore: Datastore, *, actor: Actor | None = None) -> None:
    Datastore.objects.filter(workspace=datastore.workspace, is_default=True).exclude(pk=datastore.pk).update(
        is_default=False
    )
    Datastore.objects.filter(pk=datastore.pk).update(is_default=True)
    datastore.is_default = True
    record(_server(actor), AuditAction.DEFAULT_SET, workspace=datastore.workspace, datastore=datastore.name)


@transaction.atomic
def datastore_unregister(datastore: Datastore, *, actor: Actor | None = None) -> Datastore | None:
    """Remove the registration (never the data). Returns the new default, if the default was removed.

    Like Azure ML, the default moves back to workspaceblobstore, or to the
    oldest remaining datastore when that is gone too.
    """
    actor = _server(actor)
    workspace, was_default = datastore.workspace, datastore.is_default
    record(actor, AuditAction.DATASTORE_UNREGISTERED, workspace=workspace, datastore=datastore.name)
    datastore.delete()
    if not was_default:
        return None
    remaining = workspace.datastores.all()
    successor = remaining.filter(name=WORKSPACE_BLOB_STORE).first() or remaining.order_by("created_at").first()
    if successor:
        datastore_set_default(successor, actor=actor)
    return successor


@transaction.atomic
def workspace_create(*, actor: Actor, name: str, description: str = "") -> Workspace:
    """Create a workspace, whose creator is its first owner, with the datastores every
    workspace gets on the workspace storage account (workspaceblobstore, the default, and
    workspacefilestore). If the account cannot be used, nothing is created."""
    workspace = Workspace(name=name, description=description, created_by=actor.user)
    workspace.full_clean()
    workspace.save()
    if actor.user is not None:
        Membership.objects.create(workspace=workspace, user=actor.user, role=Role.OWNER, added_by=actor.user)
    record(actor, AuditAction.WORKSPACE_CREATED, workspace=workspace)
    for store in workspace_stores(settings.WORKSPACE_STORAGE_CONNECTION_STRING, str(workspace.uid)):
        datastore = datastore_register(
            workspace=workspace,
            name=store.name,
            storage_type=store.storage_type,
            auth_type=store.auth_type,
            values=store.values,
            unchecked_reason=store.unchecked_reason,
            actor=actor,
        )
        if store.is_default:
            datastore_set_default(datastore, actor=actor)
    return workspace


# --- members -------------------------------------------------------------------------------


def _owners_left_without(workspace: Workspace, membership: Membership) -> int:
    return Membership.objects.filter(workspace=workspace, role=Role.OWNER).exclude(pk=membership.pk).count()


@transaction.atomic
def member_add(*, actor: Actor, workspace: Workspace, who: str, role: Role) -> Membership:
    """Add an existing user, named by username or email, with a role."""
    User = get_user_model()
    who = who.strip()
    # No username or email holds a NUL, and PostgreSQL refuses one even in a query: nobody matches.
    findable = bool(who) and "\x00" not in who
    matches = list(User.objects.filter(Q(username=who) | Q(email__iexact=who), is_active=True)[:2]) if findable else []
    if len(matches) != 1:
        raise MembershipRefused(
            f"No single user has the username or email {who!r}. An administrator creates users first."
            if who
            else "Type a username or an email address."
        )
    user = matches[0]
    if Membership.objects.filter(workspace=workspace, user=user).exists():
        raise MembershipRefused(f"{user.get_username()} is already a member of {workspace.name}.")
    membership = Membership.objects.create(workspace=workspace, user=user, role=role, added_by=actor.user)
    record(actor, AuditAction.MEMBER_ADDED, workspace=workspace, target=user.get_username(), detail=f"as {role}")
    return membership


@transaction.atomic
def member_change_role(*, actor: Actor, membership: Membership, role: Role) -> Membership:
    membership = Membership.objects.select_for_update().get(pk=membership.pk)
    if (
        membership.role == Role.OWNER
        and role != Role.OWNER
        and not _owners_left_without(membership.workspace, membership)
    ):
        raise MembershipRefused(
            f"{membership.user.get_username()} is the last owner of {membership.workspace.name}: "
            "make someone else an owner first."
        )
    before = membership.role
    membership.role = role
    membership.save(update_fields=["role"])
    record(
        actor,
        AuditAction.MEMBER_CHANGED,
        workspace=membership.workspace,
        target=membership.user.get_username(),
        detail=f"{before} to {role}",
    )
    return membership


@transaction.atomic
def member_remove(*, actor: Actor, membership: Membership) -> None:
    membership = Membership.objects.select_for_update().get(pk=membership.pk)
    if membership.role == Role.OWNER and not _owners_left_without(membership.workspace, membership):
        raise MembershipRefused(
            f"{membership.user.get_username()} is the last owner of {membership.workspace.name}: "
            "a workspace always keeps at least one owner."
        )
    record(actor, AuditAction.MEMBER_REMOVED, workspace=membership.workspace, target=membership.user.get_username())
    membership.delete()


# --- checks and data access ---------------------------------------------------------------------


@dataclass
class ConnectionTest:
    """How "Test connection" ended: the outcome, what failed (for the way out), and, when it
    passed, what the credential can do: (ability, True/False or None when not tried, detail)."""

    ok: bool
    message: str
    failure: StorageError | None = None
    abilities: list[tuple[str, bool | None, str]] = field(default_factory=list)


def datastore_test_connection(
    datastore: Datastore, *, actor: Actor | None = None, write: bool = False
) -> ConnectionTest:
    """Check the stored credentials against the service now, and remember the outcome. When the
    check passes, also report what the credential can do (write and delete only if asked: they
    write a temporary object and remove it again)."""
    try:
        connection = datastore.connection()
        note = datastore.backend.verify(connection)  # bounded, and a host that cannot be reached says no more
    except StorageError as failure:
        result = ConnectionTest(False, failure.message, failure)
        note = failure.message
    else:
        success = "Connection succeeded: the stored credentials reach the data."
        result = ConnectionTest(True, " ".join(filter(None, [success, note])))
        try:
            result.abilities = within_deadline(
                lambda: datastore.backend.probe(connection, write=write),
                "checking what the credential can do",
                seconds=settings.STORAGE_TIMEOUT_SECONDS * 2,
            )
        except StorageError as failure:  # the connection works; only the closer look ran out of time
            result.abilities = [("Closer look", False, failure.message)]
    _note_check(datastore, ok=result.ok, message=note)  # a success keeps only its warning, shown on the pages
    summary = "; ".join(
        f"{name}: {'yes' if can else 'no' if can is False else 'not tried'}" for name, can, _ in result.abilities
    )
    with transaction.atomic():
        datastore.save(update_fields=["last_check_ok", "last_check_message", "last_checked_at"])
        record(
            _server(actor),
            AuditAction.CONNECTION_TESTED,
            workspace=datastore.workspace,
            datastore=datastore.name,
            outcome=Outcome.OK if result.ok else Outcome.FAILED,
            detail=result.message + (f" ({summary})" if summary else ""),
        )
    return result


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
    actor: Actor | None = None,
) -> UploadOutcome:
    """Write one file from a stream of chunks; SKIPPED when it exists and overwrite is off."""
    clean = clean_path(path)
    if not clean:
        raise InvalidInput("Name the file.")
    audited = recorded(
        _server(actor),
        AuditAction.FILE_UPLOADED,
        workspace=datastore.workspace,
        datastore=datastore.name,
        target=clean,
        detail=f"{size} bytes" if size is not None else "",
    )
    with audited as note:
        outcome = datastore.backend.upload(
            datastore.connection(), clean, chunks, overwrite=overwrite, content_type=content_type, size=size
        )
        if outcome == UploadOutcome.SKIPPED:
            note.outcome, note.detail = Outcome.SKIPPED, "already there, and overwrite was off"
    return outcome


def file_delete(*, datastore: Datastore, path: str, actor: Actor | None = None) -> str:
    """Delete a file (or, where folders are real, a folder with everything in it). Returns the clean path."""
    clean = clean_path(path)
    if not clean:
        raise InvalidInput("Choose a file to delete.")
    with recorded(
        _server(actor), AuditAction.FILE_DELETED, workspace=datastore.workspace, datastore=datastore.name, target=clean
    ):
        datastore.backend.delete(datastore.connection(), clean)
    return clean


def folder_create(*, datastore: Datastore, parent: str, name: str, actor: Actor | None = None) -> str:
    """Create a folder `name` in `parent`. Returns its path. Where folders are only name prefixes
    (Blob Storage) nothing is written: the folder appears once a file lands in it."""
    parent_folder = clean_path(parent)
    folder = clean_path(join(parent_folder, name.strip()))
    if folder == parent_folder or "/" in name.strip().strip("/"):
        raise InvalidInput(
            "Name the new folder (one name, without /)." if folder != parent_folder else "Name the new folder."
        )
    with recorded(
        _server(actor),
        AuditAction.FOLDER_CREATED,
        workspace=datastore.workspace,
        datastore=datastore.name,
        target=folder,
    ) as note:
        if datastore.backend.capabilities.folders:
            datastore.backend.create_folder(datastore.connection(), folder)
        else:
            note.detail = "a name prefix: it appears with its first file"
    return folder


def folder_delete(*, datastore: Datastore, path: str, actor: Actor | None = None) -> str:
    """Delete a folder and everything in it. Returns the clean path."""
    clean = clean_path(path)
    if not clean:
        raise InvalidInput("The datastore's root folder cannot be deleted.")
    with recorded(
        _server(actor),
        AuditAction.FOLDER_DELETED,
        workspace=datastore.workspace,
        datastore=datastore.name,
        target=clean,
    ):
        datastore.backend.delete_folder(datastore.connection(), clean)
    return clean


def files_delete(*, datastore: Datastore, paths: Iterable[str], actor: Actor | None = None) -> list[str]:
    """Delete several files, each audited; stops at the first failure (those before it are gone)."""
    cleaned = [clean_path(path) for path in paths]
    if not cleaned or not all(cleaned):
        raise InvalidInput("Choose the files to delete.")
    return [file_delete(datastore=datastore, path=path, actor=actor) for path in cleaned]


def file_move(
    *, datastore: Datastore, source: str, destination: str, is_folder: bool, actor: Actor | None = None
) -> str:
    """Rename or move a file or folder within the datastore. Returns the destination path."""
    clean_source, clean_destination = clean_path(source), clean_path(destination)
    if not clean_source or not clean_destination:
        raise InvalidInput("Name both the file or folder to move and where it goes.", field="destination")
    if clean_destination == clean_source:
        raise InvalidInput("The new path is the same as the old one.", field="destination")
    if is_folder and clean_destination.startswith(clean_source + "/"):
        raise InvalidInput("A folder cannot be moved into itself.", field="destination")
    audited = recorded(
        _server(actor),
        AuditAction.FILE_MOVED,
        workspace=datastore.workspace,
        datastore=datastore.name,
        target=clean_source,
        detail=f"to {clean_destination}",
    )
    with audited:
        datastore.backend.move(datastore.connection(), clean_source, clean_destination, is_folder=is_folder)
    return clean_destination


def datastore_secrets_rotate(*, actor: Actor | None = None) -> int:
    """Re-encrypt every stored secret under the first key. Returns how many rows were rewritten."""
    count = 0
    with transaction.atomic():
        for datastore in Datastore.objects.select_for_update().exclude(encrypted_secrets=""):
            datastore.encrypted_secrets = rotate_token(datastore.encrypted_secrets)
            datastore.save(update_fields=["encrypted_secrets"])
            count += 1
        record(_server(actor), AuditAction.KEYS_ROTATED, detail=f"{count} datastore(s) re-encrypted")
    return count


# --- access tokens ---------------------------------------------------------------------------


class TokenRefused(Exception):
    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.message, self.field = message, field


def token_create(
    *, actor: Actor, name: str, expires_in_days: int, workspaces: Iterable[Workspace] = (), read_only: bool = False
) -> tuple[AccessToken, str]:
    """A personal access token for the actor's user. Returns the row and the token itself,
    which is shown once and never stored (only its hash is)."""
    limit = settings.API_TOKEN_MAX_DAYS
    if not 1 <= expires_in_days <= limit:
        raise TokenRefused(f"A token expires after 1 to {limit} days.", field="expires_in_days")
    name = name.strip()
    if not name:
        raise TokenRefused("Name the token, e.g. after the script that uses it.", field="name")
    chosen = list(workspaces)
    raw = tokens.new_personal_token()
    with transaction.atomic():
        token = AccessToken.objects.create(
            user=actor.user,
            name=name[:100],
            prefix=raw[: tokens.SHOWN_PREFIX_LENGTH],
            digest=tokens.digest_of(raw),
            read_only=read_only,
            all_workspaces=not chosen,
            expires_at=timezone.now() + timedelta(days=expires_in_days),
        )
        token.workspaces.set(chosen)
        scope = ", ".join(workspace.name for workspace in chosen) or "all workspaces"
        record(
            actor,
            AuditAction.TOKEN_CREATED,
            target=str(token),
            detail=f"{'read-only, ' if read_only else ''}{scope}, expires {token.expires_at:%Y-%m-%d}",
        )
    return token, raw


@transaction.atomic
def token_revoke(*, actor: Actor, token: AccessToken) -> None:
    if token.revoked_at is None:
        AccessToken.objects.filter(pk=token.pk).update(revoked_at=timezone.now())
        record(actor, AuditAction.TOKEN_REVOKED, target=str(token))


def token_used(*, actor: Actor, token: AccessToken) -> None:
    """Note a use of the token (its last use, and an entry at most once a minute)."""
    if tokens.note_use(token):
        record(actor, AuditAction.TOKEN_USED, target=str(token))


def access_token_issue(*, actor: Actor, token: AccessToken, resource: str) -> tokens.AccessGrant:
    grant = tokens.access_token_for(token, resource)
    record(
        actor,
        AuditAction.ACCESS_TOKEN_ISSUED,
        target=str(token),
        detail=f"for {resource[:200]}, expires {grant.expires_on:%H:%M} UTC",
    )
    return grant


# --- credentials for scripts ---------------------------------------------------------------


def datastore_credential_issue(
    *,
    datastore: Datastore,
    actor: Actor,
    write: bool,
    may_write: bool,
    path: str = "",
    lifetime_minutes: int | None = None,
) -> ScriptCredential:
    """A short-lived, least-privilege credential to reach the storage directly (never the stored
    secret, except a SAS datastore's own SAS, which is all there is and goes to writers only).

    `may_write` says whether the actor's role allows changes; `write` asks for a writing credential."""
    limit = settings.API_CREDENTIAL_MAX_MINUTES
    minutes = limit if lifetime_minutes is None else lifetime_minutes
    if not 1 <= minutes <= limit:
        raise InvalidInput(f"A credential lives 1 to {limit} minutes.", field="lifetime_minutes")
    clean = clean_path(path)
    audited = recorded(
        actor,
        AuditAction.CREDENTIAL_ISSUED,
        workspace=datastore.workspace,
        datastore=datastore.name,
        target=clean or "/",
        detail="read and list" + (", write" if write else ""),
    )
    with audited as note:
        credential = datastore.backend.script_credential(
            datastore.connection(), write=write, path=clean, lifetime=timedelta(minutes=minutes)
        )
        if credential.stored and not may_write:
            raise Conflict(
                "This datastore's only credential is its stored one, which is not scoped to reading, "
                "so it goes to contributors and owners only. Use the studio's file routes to read from it."
            )
        note.detail = (
            f"{'stored SAS' if credential.stored else 'SAS'} sp={credential.permissions}, "
            f"expires {credential.expires_on:%Y-%m-%d %H:%M} UTC"
        )
    return credential


# --- browser transfers straight to storage ---------------------------------------------------


def direct_transfer_grant(*, datastore: Datastore, path: str, write: bool, actor: Actor) -> DirectGrant:
    """A SAS for one file, handed to the actor's browser: create and write for an upload (the
    caller asked for Need.CHANGE), read for a download. Audited with its path, letters and
    expiry, never its signature."""
    clean = clean_path(path)
    if not clean:
        raise InvalidInput("Name the file.")
    backend = datastore.backend
    lifetime = timedelta(minutes=settings.DIRECT_TRANSFER_SAS_MINUTES)
    action = AuditAction.DIRECT_UPLOAD_GRANTED if write else AuditAction.DIRECT_DOWNLOAD_GRANTED
    with recorded(actor, action, workspace=datastore.workspace, datastore=datastore.name, target=clean) as note:
        connection = datastore.connection()
        grant = within_deadline(
            lambda: backend.direct_grant(
                connection, clean, write=write, lifetime=lifetime, download_name=name_of(clean)
            ),
            "signing the transfer",
        )
        note.detail = f"sp={grant.permissions}, expires {grant.expires_on:%Y-%m-%d %H:%M:%S} UTC"
    return grant


DIRECT_OUTCOMES = ("uploaded", "skipped", "failed", "cancelled")  # what direct.js says of an upload


def direct_upload_ended(*, datastore: Datastore, path: str, claimed: str, size: int, actor: Actor) -> str:
    """Record how the actor's browser says its direct upload of `path` ended (the caller asked for
    Need.CHANGE), as storage shows it: a claim is never written down on the browser's word alone.
    Only an upload the actor was granted a SAS for, within that SAS's lifetime, can be reported,
    once. Returns the outcome recorded."""
    clean = clean_path(path)
    if not clean:
        raise InvalidInput("Name the file.")
    if claimed not in DIRECT_OUTCOMES:
        raise InvalidInput(f"Say how the upload ended: one of {', '.join(DIRECT_OUTCOMES)}.", field="outcome")
    if size < 0:
        raise InvalidInput("Say the file's size.", field="size")
    since = timezone.now() - timedelta(minutes=settings.DIRECT_TRANSFER_SAS_MINUTES + 1)
    mine = AuditEntry.objects.filter(
        workspace=datastore.workspace, datastore_name=datastore.name, target=clean, actor=actor.user
    )
    granted = mine.filter(action=AuditAction.DIRECT_UPLOAD_GRANTED, outcome=Outcome.OK, at__gte=since)
    latest = granted.order_by("-at").values_list("at", flat=True).first()
    if latest is None:
        raise Conflict(f"No upload of {clean!r} was granted to you in the last minutes: there is nothing to report.")
    reported = mine.filter(action=AuditAction.DIRECT_UPLOAD_ENDED, at__gte=latest)
    if reported.exists():  # one entry per upload: a browser cannot fill the log with reports
        raise Conflict(f"How the upload of {clean!r} ended is already recorded.")
    connection = datastore.connection()
    try:
        found: int | None = within_deadline(
            lambda: datastore.backend.properties(connection, clean).size, "checking the upload"
        )
    except NotFound:
        found = None
    held = "nothing is there" if found is None else f"storage holds {found} bytes"
    if claimed == "uploaded" and found == size:
        outcome, detail = Outcome.OK, f"committed, {size} bytes (checked in storage)"
    elif claimed == "uploaded":
        outcome, detail = Outcome.FAILED, f"the browser said it committed {size} bytes, but {held}"
    elif claimed == "skipped" and found is not None:
        outcome, detail = Outcome.SKIPPED, f"already there, kept as it was: {held}"
    elif claimed == "skipped":
        outcome, detail = Outcome.FAILED, f"the browser said the file was already there, but {held}"
    else:
        outcome, detail = Outcome.FAILED, f"{claimed} in the browser; {held}"
    record(
        actor,
        AuditAction.DIRECT_UPLOAD_ENDED,
        workspace=datastore.workspace,
        datastore=datastore.name,
        target=clean,
        outcome=outcome,
        detail=detail,
    )
    return str(outcome)


_CORS_CHANGES = threading.Lock()


def datastore_cors_allow(*, datastore: Datastore, origin: str, actor: Actor) -> bool:
    """Add one CORS rule for the studio's origin to the datastore's storage account (the caller
    asked for Need.MANAGE). False when a rule already let it in."""
    connection = datastore.connection()
    with recorded(
        actor, AuditAction.CORS_ALLOWED, workspace=datastore.workspace, datastore=datastore.name, target=origin
    ) as note:
        # The rules are read, then written back whole: two presses at once would each write what it
        # read, losing the other's rule. The service has no conditional write for them, so the
        # presses take turns: on the datastore's row (other processes), and in this process (SQLite
        # has no row lock).
        with _CORS_CHANGES, transaction.atomic():
            Datastore.objects.select_for_update().filter(pk=datastore.pk).exists()
            added = within_deadline(lambda: datastore.backend.cors_allow(connection, origin), "changing the CORS rules")
        if not added:
            note.outcome, note.detail = Outcome.SKIPPED, "a rule already allowed it"
    direct_transfer_forget(datastore, origin)
    return added
