import uuid
from datetime import timedelta
from functools import cached_property

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from .crypto import SecretsUnreadable, decrypt_secrets
from .storage import (
    AuthType,
    Connection,
    CredentialFacts,
    StorageBackend,
    StoredSettingsInvalid,
    auth_type_choices,
    backend_for,
    storage_type_choices,
)

CREDENTIAL_WARNING_AHEAD = timedelta(days=7)  # how long before a credential expires the pages warn
_AUTH_LABELS: dict[str, str] = dict(AuthType.choices)  # the list shows one a row

validate_workspace_name = RegexValidator(
    r"^[A-Za-z0-9][A-Za-z0-9_-]{2,32}\Z",
    "A workspace name has 3 to 33 letters, digits, hyphens or underscores, starting with a letter or digit.",
)
validate_datastore_name = RegexValidator(
    r"^[A-Za-z][A-Za-z0-9_]*\Z",
    "A datastore name uses letters, digits and underscores only, and starts with a letter.",
)


class Workspace(models.Model):
    name = models.CharField(max_length=33, unique=True, validators=[validate_workspace_name])
    description = models.TextField(blank=True)
    uid = models.UUIDField(default=uuid.uuid4, editable=False, unique=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Datastore(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="datastores")
    name = models.CharField(max_length=255, validators=[validate_datastore_name])
    # Plain values checked against the storage registry (choices are callables), so adding
    # or removing a storage or authentication type needs no migration.
    storage_type = models.CharField(max_length=32, choices=storage_type_choices)
    auth_type = models.CharField(max_length=32, choices=auth_type_choices)
    # Non-secret connection settings, parsed strictly through the storage type's fields on read.
    connection_settings = models.JSONField(default=dict)
    # A Fernet token of the JSON secrets; never plaintext.
    encrypted_secrets = models.TextField(blank=True)
    secrets_updated_at = models.DateTimeField(null=True, blank=True)
    is_default = models.BooleanField(default=False)
    # The last check against the service (on registration or Test connection): None when never checked.
    last_check_ok = models.BooleanField(null=True, blank=True)
    last_check_message = models.TextField(blank=True)
    last_checked_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        # The list's filters (name contains, storage type, health) count and page through these
        # narrow indexes, not the rows with their settings and secrets (bench/run-datastore-list):
        # the first walks a workspace in name order; the second goes straight to one storage
        # type and health (in name order within them), so counting those is not a walk of the
        # whole workspace testing each name.
        indexes = [
            models.Index(
                fields=["workspace", "name", "storage_type", "last_check_ok", "id"], name="datastore_list_filters"
            ),
            models.Index(
                fields=["workspace", "storage_type", "last_check_ok", "name", "id"], name="datastore_list_type_health"
            ),
        ]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "name"], name="datastore_name_unique_in_workspace"),
            models.UniqueConstraint(
                fields=["workspace"], condition=Q(is_default=True), name="one_default_datastore_per_workspace"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def backend(self) -> StorageBackend:
        return backend_for(self.storage_type)

    def connection(self) -> Connection:
        """Settings and decrypted secrets, parsed strictly (raises StoredSettingsInvalid)."""
        try:
            secrets = decrypt_secrets(self.encrypted_secrets)
        except SecretsUnreadable as unreadable:
            raise StoredSettingsInvalid(f"{unreadable} Update authentication to store them again.") from None
        return self.backend.parse_stored(self.auth_type, self.connection_settings, secrets)

    @cached_property
    def credential_facts(self) -> CredentialFacts:
        """What the stored credential says of itself (such as when a token expires), even when it
        no longer parses; nothing decrypted for an authentication type whose credential says nothing."""
        if self.auth_type not in self.backend.credential_facts_auth_types:
            return CredentialFacts()
        try:
            return self.backend.credential_facts(self.auth_type, decrypt_secrets(self.encrypted_secrets))
        except (SecretsUnreadable, StoredSettingsInvalid):
            return CredentialFacts()

    @property
    def credential_warning(self) -> str:
        """Said on the list and the detail page when the credential has expired or expires within a week."""
        facts = self.credential_facts
        if facts.expires_at is None:
            return ""
        left = facts.expires_at - timezone.now()
        if left <= timedelta(0):
            return f"{facts.label} expired on {facts.expires_at:%Y-%m-%d %H:%M} UTC"
        if left <= CREDENTIAL_WARNING_AHEAD:
            days = round(left.total_seconds() / 86400)
            when = "today" if days == 0 else "tomorrow" if days == 1 else f"in {days} days"
            return f"{facts.label} expires {when} ({facts.expires_at:%Y-%m-%d %H:%M} UTC)"
        return ""

    @property
    def storage_label(self) -> str:
        """The storage type's name on pages, as its backend in the registry gives it (no query)."""
        return self.backend.label

    @property
    def auth_label(self) -> str:
        return _AUTH_LABELS.get(self.auth_type, self.auth_type)

    @property
    def location(self) -> str:
        return self.backend.location(self.connection_settings)

    @property
    def notice(self) -> str:
        """What the datastore's pages say first: the storage type's notice, why it was never
        checked, or what its last successful check warned about (a login that can write files)."""
        note = self.last_check_message if self.last_check_ok is not False else ""
        return self.backend.page_notice(self.connection_settings) or note


class Role(models.TextChoices):
    """A member's role in a workspace, from least to most."""

    READER = "reader", "Reader"
    CONTRIBUTOR = "contributor", "Contributor"
    OWNER = "owner", "Owner"


class Membership(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices)
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["user__username"]
        constraints = [models.UniqueConstraint(fields=["workspace", "user"], name="one_membership_per_user")]

    def __str__(self) -> str:
        return f"{self.user} ({self.role}) in {self.workspace}"


class AuditAction(models.TextChoices):
    WORKSPACE_CREATED = "workspace.created", "Workspace created"
    MEMBER_ADDED = "member.added", "Member added"
    MEMBER_CHANGED = "member.changed", "Member's role changed"
    MEMBER_REMOVED = "member.removed", "Member removed"
    DATASTORE_REGISTERED = "datastore.registered", "Datastore registered"
    DATASTORE_OVERWRITTEN = "datastore.overwritten", "Datastore overwritten"
    AUTHENTICATION_UPDATED = "datastore.authentication_updated", "Authentication updated"
    DEFAULT_SET = "datastore.default_set", "Default datastore set"
    DATASTORE_UNREGISTERED = "datastore.unregistered", "Datastore unregistered"
    CONNECTION_TESTED = "datastore.connection_tested", "Connection tested"
    FOLDER_BROWSED = "files.browsed", "Folder browsed"
    FILE_DOWNLOADED = "files.downloaded", "File downloaded"
    FOLDER_ZIPPED = "files.zipped", "Folder downloaded as zip"
    FILE_UPLOADED = "files.uploaded", "File uploaded"
    FILE_DELETED = "files.deleted", "File deleted"
    FOLDER_CREATED = "files.folder_created", "Folder created"
    FOLDER_DELETED = "files.folder_deleted", "Folder deleted"
    FILE_MOVED = "files.moved", "File or folder moved"
    FILE_PREVIEWED = "files.previewed", "File previewed"
    SELECTION_ZIPPED = "files.selection_zipped", "Files downloaded as zip"
    TABLES_LISTED = "tables.listed", "Tables listed"
    TABLE_PREVIEWED = "tables.previewed", "Table previewed"
    QUERY_RUN = "tables.query_run", "Query run"
    CSV_DOWNLOADED = "tables.csv_downloaded", "CSV downloaded"
    KEYS_ROTATED = "secrets.rotated", "Encryption keys rotated"
    ACCESS_REFUSED = "access.refused", "Access refused"
    TOKEN_CREATED = "token.created", "Access token created"
    TOKEN_REVOKED = "token.revoked", "Access token revoked"
    TOKEN_USED = "token.used", "Access token used"
    ACCESS_TOKEN_ISSUED = "token.access_token_issued", "Short-lived access token issued"
    CREDENTIAL_ISSUED = "datastore.credential_issued", "Credential for a script issued"
    DIRECT_UPLOAD_GRANTED = "files.direct_upload_granted", "SAS for a browser's upload issued"
    DIRECT_DOWNLOAD_GRANTED = "files.direct_download_granted", "SAS for a browser's download issued"
    CORS_ALLOWED = "datastore.cors_allowed", "Studio allowed in the account's CORS rules"
    DIRECT_UPLOAD_ENDED = "files.direct_upload_ended", "Browser's direct upload ended"


class Outcome(models.TextChoices):
    OK = "ok", "Done"
    SKIPPED = "skipped", "Skipped"
    FAILED = "failed", "Failed"
    REFUSED = "refused", "Refused"


class AuditEntry(models.Model):
    """One change or data access, as it happened. Written once, never edited; only
    `manage.py prune_audit` removes entries older than AUDIT_RETENTION_DAYS."""

    at = models.DateTimeField(default=timezone.now)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_name = models.CharField(max_length=150)  # kept when the user is deleted
    workspace = models.ForeignKey(Workspace, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    workspace_name = models.CharField(max_length=33, blank=True)
    datastore_name = models.CharField(max_length=255, blank=True)
    action = models.CharField(max_length=40, choices=AuditAction.choices)
    target = models.CharField(max_length=1024, blank=True)  # a path, a table, a member, a folder
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    detail = models.TextField(blank=True)
    client_address = models.GenericIPAddressField(null=True, blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    # How the person acted when not through the pages: "token <prefix> (<name>)".
    via = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-id"]
        # Pages go newest first by id, filtered by workspace and optionally by who, which
        # datastore or what: each index serves one filter, so a cursor page is one index range.
        indexes = [
            models.Index(fields=["workspace", "-id"], name="audit_by_workspace"),
            models.Index(fields=["workspace", "actor_name", "-id"], name="audit_by_actor"),
            models.Index(fields=["workspace", "datastore_name", "-id"], name="audit_by_datastore"),
            models.Index(fields=["workspace", "action", "-id"], name="audit_by_action"),
            models.Index(fields=["at"], name="audit_by_time"),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_name} {self.action} {self.outcome}"


class AccessToken(models.Model):
    """A personal access token: its user's role in each workspace, never more. Only a hash of
    the token is stored; the prefix (the token's first characters) names it on pages and in the log."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="access_tokens")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16)
    digest = models.CharField(max_length=64, unique=True)  # SHA-256 of the whole token, hex
    read_only = models.BooleanField(default=False)
    # Off: only `workspaces` (a workspace deleted later is not replaced by "all").
    all_workspaces = models.BooleanField(default=True)
    workspaces = models.ManyToManyField(Workspace, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.name})"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None and self.expires_at > timezone.now()
