"""Form fields shared by the storage type modules, worded as in the Azure ML docs.

Each function returns a new field, so a module can declare its fields as a
plain dict and the shared credential groups are written once.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

from django import forms
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator

from . import endpoints
from .auth import Protocol

REGISTRATION_ONLY = "registration_only"


def is_registration_only(form_field: forms.Field) -> bool:
    """Options that mean something only when a datastore is registered (Create if not exists)."""
    return bool(getattr(form_field, REGISTRATION_ONLY, False))


class SecretField(forms.CharField):
    """A credential: encrypted at rest and never rendered back into a page."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("widget", forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}))
        kwargs.setdefault("strip", True)
        super().__init__(**kwargs)


# --- validators ----------------------------------------------------------------------

validate_account_name = RegexValidator(
    r"^[a-z0-9]{3,24}\Z",
    "A storage account name has 3 to 24 characters, lowercase letters and digits only.",
)

validate_container_name = RegexValidator(
    r"^(?=.{3,63}\Z)[a-z0-9](?:[a-z0-9]|-(?!-))*[a-z0-9]\Z",
    "Use 3 to 63 lowercase letters, digits and single hyphens, starting and ending with a letter or digit.",
)


def validate_server_name(value: str) -> None:
    """A DNS name (myserver), parsed as endpoints.py parses hosts: it becomes the first labels
    of the server's address."""
    try:
        host = endpoints.parse_host(value)
    except endpoints.BadAddress:
        host = ""
    if not host or endpoints.is_ip(host):
        raise forms.ValidationError(
            "A server name is made of letters, digits and inner hyphens, such as myserver.", code="invalid_server_name"
        )


def validate_guid(value: str) -> None:
    try:
        uuid.UUID(value)
    except ValueError:
        raise forms.ValidationError(
            "Enter a GUID such as 72f988bf-86f1-41af-91ab-2d7cd011db47.", code="invalid_guid"
        ) from None


def validate_account_key(value: str) -> None:
    try:
        decoded = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        decoded = b""
    if len(decoded) < 32:
        raise forms.ValidationError(
            "An account key is base64 text (88 characters for Azure keys); copy it from Access keys in the portal.",
            code="invalid_account_key",
        )


def parse_sas_token(value: str) -> dict[str, str]:
    return {name: values[0] for name, values in parse_qs(value.lstrip("?"), keep_blank_values=True).items()}


def validate_sas_token(value: str) -> None:
    params = parse_sas_token(value)
    if "sig" not in params:
        raise forms.ValidationError(
            "This is not a SAS token: it has no signature (sig). Paste the token that starts with sv= or ?sv=.",
            code="invalid_sas",
        )
    missing = [name for name in ("sp", "se") if not params.get(name)]
    if missing:
        raise forms.ValidationError(
            "The SAS token has no %(missing)s: it needs permissions (sp) and an expiry time (se).",
            code="incomplete_sas",
            params={"missing": " and ".join(missing)},
        )
    try:
        expiry = datetime.fromisoformat(params["se"].replace("Z", "+00:00"))
    except ValueError:
        raise forms.ValidationError("The SAS token's expiry time (se) is not a date.", code="invalid_sas") from None
    if expiry.tzinfo is None:
        expiry = expiry.replace(tzinfo=UTC)
    if expiry <= datetime.now(UTC):
        raise forms.ValidationError(
            "The SAS token expired on %(expiry)s. Generate a new one in the portal.",
            code="expired_sas",
            params={"expiry": expiry.strftime("%Y-%m-%d %H:%M UTC")},
        )


class EndpointField(forms.CharField):
    """A service's domain suffix (core.windows.net) or an allowed host[:port], parsed into its
    parts and stored as built from them (see endpoints.py)."""

    def __init__(self, *, suffixes: tuple[str, ...], **kwargs: Any):
        self.suffixes = suffixes
        kwargs.setdefault("max_length", 260)
        super().__init__(**kwargs)

    def clean(self, value: Any) -> str:
        value = super().clean(value)
        return endpoints.clean_endpoint(value, self.suffixes) if value else value


class HttpsUrlField(forms.CharField):
    """An https URL with a host and nothing else; with `suffixes`, a host allowed for that service."""

    def __init__(self, *, suffixes: tuple[str, ...] | None, example: str, **kwargs: Any):
        self.suffixes, self.example = suffixes, example
        kwargs.setdefault("max_length", 270)
        super().__init__(**kwargs)

    def clean(self, value: Any) -> str:
        value = super().clean(value)
        return endpoints.clean_url(value, self.suffixes, self.example) if value else value


# --- fields ----------------------------------------------------------------------------


def account_name_field() -> forms.CharField:
    return forms.CharField(label="Account name", max_length=24, validators=[validate_account_name])


def container_name_field(label: str = "Container name") -> forms.CharField:
    return forms.CharField(label=label, max_length=63, validators=[validate_container_name])


def protocol_field() -> forms.ChoiceField:
    return forms.ChoiceField(label="Protocol", choices=Protocol.choices, initial=Protocol.HTTPS)


def endpoint_field(default: str, suffixes: tuple[str, ...], **kwargs: Any) -> EndpointField:
    kwargs.setdefault("help_text", f"The service's domain suffix, e.g. {default}, or a host the administrator allows.")
    return EndpointField(label="Endpoint", initial=default, suffixes=suffixes, **kwargs)


def server_name_field() -> forms.CharField:
    return forms.CharField(label="Server name", max_length=253, validators=[validate_server_name])


def database_name_field() -> forms.CharField:
    return forms.CharField(label="Database name", max_length=128)


def port_field(default: int) -> forms.IntegerField:
    return forms.IntegerField(
        label="Port",
        initial=default,
        validators=[MinValueValidator(1), MaxValueValidator(65535)],
        error_messages={"invalid": "A port is a whole number from 1 to 65535."},
    )


def guid_field(label: str, *, required: bool = True) -> forms.CharField:
    return forms.CharField(label=label, required=required, validators=[validate_guid])


def checkbox_field(label: str, help_text: str = "") -> forms.BooleanField:
    return forms.BooleanField(label=label, required=False, help_text=help_text)


def account_key_fields() -> dict[str, forms.Field]:
    return {"account_key": SecretField(label="Account key", validators=[validate_account_key])}


def sas_token_fields() -> dict[str, forms.Field]:
    return {
        "sas_token": SecretField(
            label="SAS token",
            validators=[validate_sas_token],
            help_text="Needs read (r) and list (l) permissions; add write (w) and create (c) to upload.",
        )
    }


def service_principal_fields(
    *, resource_url: str, authority_url: str = "https://login.microsoftonline.com"
) -> dict[str, forms.Field]:
    return {
        "tenant_id": guid_field("Tenant ID"),
        "client_id": guid_field("Client ID"),
        "client_secret": SecretField(label="Client secret"),
        # The token's audience: never connected to, but it decides what the secret buys.
        "resource_url": HttpsUrlField(label="Resource URL", initial=resource_url, suffixes=None, example=resource_url),
        "authority_url": HttpsUrlField(
            label="Authority URL", initial=authority_url, suffixes=endpoints.ENTRA, example=authority_url
        ),
    }


def sql_authentication_fields() -> dict[str, forms.Field]:
    return {
        "user_id": forms.CharField(label="User ID", max_length=128),
        "password": SecretField(label="Password"),
    }


def create_if_not_exists_field() -> forms.BooleanField:
    field = checkbox_field("Create if not exists", "Create the container or share when it does not exist yet.")
    setattr(field, REGISTRATION_ONLY, True)
    return field


def skip_validation_field() -> forms.BooleanField:
    return checkbox_field("Skip validation", "Register without checking the credentials against the service.")


def validate_now_field(
    help_text: str = "Check the service principal against the service now instead of on first use.",
) -> forms.BooleanField:
    return checkbox_field("Validate now", help_text)


def subscription_and_resource_group_fields() -> dict[str, forms.Field]:
    return {
        "subscription_id": guid_field("Subscription ID", required=False),
        "resource_group": forms.CharField(label="Resource group", required=False, max_length=90),
    }
