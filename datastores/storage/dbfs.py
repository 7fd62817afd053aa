"""Databricks File System: no authentication, for local compute (as in Azure ML).

A workspace URL and a personal access token are optional; with them, the
studio can reach DBFS through its REST API.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django import forms

from ..choices import AuthType
from .base import AuthMethod, StorageBackend
from .fields import SecretField, validate_authority_url


class DbfsBackend(StorageBackend):
    storage_type = "DBFS"
    label = "Databricks File System"
    connection_fields = {
        "workspace_url": forms.CharField(
            label="Workspace URL",
            required=False,
            help_text="Optional: https://adb-….azuredatabricks.net, to browse and transfer from the studio.",
            validators=[validate_authority_url],
        ),
    }
    auth_methods = (
        AuthMethod(
            AuthType.NONE,
            {"access_token": SecretField(label="Personal access token", required=False)},
        ),
    )
    options = {}
    reach_fields = ("workspace_url",)

    def location(self, settings: Mapping[str, Any]) -> str:
        return str(settings.get("workspace_url") or "local compute")


BACKEND = DbfsBackend()
