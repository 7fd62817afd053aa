import uuid

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q

from .crypto import SecretsUnreadable, decrypt_secrets
from .storage import (
    Connection,
    StorageBackend,
    StoredSettingsInvalid,
    auth_type_choices,
    backend_for,
    storage_type_choices,
)

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

    @property
    def location(self) -> str:
        return self.backend.location(self.connection_settings)

    @property
    def notice(self) -> str:
        """What the datastore's pages say first: the storage type's notice, why it was never
        checked, or what its last successful check warned about (a login that can write files)."""
        note = self.last_check_message if self.last_check_ok is not False else ""
        return self.backend.page_notice(self.connection_settings) or note
