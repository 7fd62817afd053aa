"""The authentication types a storage type may offer, and the protocols its endpoints use.

A backend lists the ones it supports in its `auth_methods`; the model's choices
come from the registry, so a new authentication type needs no migration.
"""

from django.db import models


class AuthType(models.TextChoices):
    ACCOUNT_KEY = "account_key", "Account key"
    SAS_TOKEN = "sas_token", "SAS token"
    SERVICE_PRINCIPAL = "service_principal", "Service principal"
    SQL_AUTHENTICATION = "sql_authentication", "SQL authentication"
    NONE = "none", "No authentication"
    # The studio's own Azure identity (studio_identity.py): the datastore stores no secret at all.
    IDENTITY = "identity_based", "Identity-based (no stored credential)"


class Protocol(models.TextChoices):
    HTTPS = "https", "https"
    HTTP = "http", "http"
