import uuid

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q

from .choices import AuthType
from .crypto import decrypt_secrets
from .storage import BACKENDS, Connection, StorageBackend, backend_for, storage_type_choices

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
    storage_type = models.CharField(max_length=32, choices=storage_type_choices)
    auth_type = models.CharField(max_length=32, choices=AuthType.choices)
    # Non-secret connection settings, parsed strictly through the storage type's fields on read.
    connection_settings = models.JSONField(default=dict)
    # A Fernet token of the JSON secrets; never plaintext.
    encrypted_secrets = models.TextField(blank=True)
    secrets_updated_at = models.DateTimeField(null=True, blank=True)
    is_default = models.BooleanField(default=False)
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
            models.CheckConstraint(condition=Q(storage_type__in=list(BACKENDS)), name="datastore_storage_type_known"),
            models.CheckConstraint(condition=Q(auth_type__in=AuthType.values), name="datastore_auth_type_known"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def backend(self) -> StorageBackend:
        return backend_for(self.storage_type)

    def connection(self) -> Connection:
        """Settings and decrypted secrets, parsed strictly (raises StoredSettingsInvalid)."""
        return self.backend.parse_stored(self.auth_type, self.connection_settings, decrypt_secrets(self.encrypted_secrets))

    @property
    def location(self) -> str:
        return self.backend.location(self.connection_settings)

    @property
    def notice(self) -> str:
        return self.backend.page_notice(self.connection_settings)
