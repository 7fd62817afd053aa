"""What the secret-destination and debug-page tests share: every storage and authentication type
that holds a secret, and field values that point a datastore at a loopback listener."""

from __future__ import annotations

import base64
import secrets

from django import forms

from datastores.storage import BACKENDS
from datastores.storage.fields import EndpointField, HttpsUrlField, SecretField

from .listeners import Listener
from .support import remember_secret

GUIDS = ("6f1c2a4e-0000-4000-8000-00000000a11d", "7f1c2a4e-0000-4000-8000-00000000b22e")


def cases() -> list[tuple[str, str]]:
    return [
        (storage_type, auth_type)
        for storage_type, backend in BACKENDS.items()
        for auth_type in backend.auth_types
        if backend.secret_names(auth_type)
    ]


def first_value(name: str, form_field: forms.Field, listener: Listener, *, has_port: bool) -> object:
    """A valid value that points at the listener wherever a field can."""
    if isinstance(form_field, SecretField):
        if name == "account_key":
            return remember_secret(base64.b64encode(secrets.token_bytes(64)).decode())
        if name == "sas_token":
            return remember_secret(f"sv=2024-08-04&sp=rl&se=2099-01-01T00:00:00Z&sig={secrets.token_urlsafe(24)}")
        return remember_secret(f"stored-{name}-{secrets.token_hex(8)}-do-not-send")
    if isinstance(form_field, EndpointField):
        return "127.0.0.1" if has_port else listener.endpoint  # databases take the port from their own field
    if isinstance(form_field, HttpsUrlField):
        return listener.url if form_field.suffixes is not None else form_field.initial
    if name == "port":
        return listener.port
    if name in {"tenant_id", "client_id", "subscription_id"}:
        return GUIDS[0]
    if isinstance(form_field, forms.BooleanField):
        return False
    if form_field.initial not in (None, ""):
        return form_field.initial
    return {"account_name": "studioacct", "store_name": "studiostore", "server_name": "srv"}.get(name, "data")
