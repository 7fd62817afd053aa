"""Typed choices shared by the models, the forms and the storage modules."""

from django.db import models


class AuthType(models.TextChoices):
    ACCOUNT_KEY = "account_key", "Account key"
    SAS_TOKEN = "sas_token", "SAS token"
    SERVICE_PRINCIPAL = "service_principal", "Service principal"
    SQL_AUTHENTICATION = "sql_authentication", "SQL authentication"
    NONE = "none", "No authentication"


class Protocol(models.TextChoices):
    HTTPS = "https", "https"
    HTTP = "http", "http"
