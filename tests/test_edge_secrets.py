"""A stored secret goes only where it was registered.

For every registered storage type and every authentication type that has a secret, a
datastore is registered pointing at a loopback listener that records what it receives. Then
every field that says where the secret goes is changed in turn on Update authentication, the
secret left blank, the check on: the studio must ask for the secret again, and the listener
must have received nothing at all (no connection, so no secret).

Which fields say where a secret goes is decided here, independently of each backend's
`reach_fields`: every connection or credential field except the names of data inside the
service (container, share, filesystem, database), the login's own name and the Azure
resource fields. A backend that forgets one fails this test.
"""

from __future__ import annotations

import re

import pytest
from django import forms
from django.urls import reverse

from datastores import services
from datastores.models import Datastore
from datastores.storage import BACKENDS, AuthType
from datastores.storage.fields import SecretField

from .destinations import GUIDS, cases, first_value
from .listeners import Listener
from .pages import field_block
from .support import remember_secret

pytestmark = pytest.mark.django_db

NOT_A_DESTINATION = {
    "container_name",
    "file_share_name",
    "filesystem",
    "database_name",
    "user_id",
    "client_id",
    "subscription_id",
    "resource_group",
    "grant_workspace_access",
}


@pytest.fixture
def listener(trust_ca):
    with Listener("silent", tls=True) as recording:
        yield recording


@pytest.fixture
def trust_ca(monkeypatch):
    from tests.standins.tls import ca_bundle_path

    monkeypatch.setenv("SSL_CERT_FILE", ca_bundle_path())
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", ca_bundle_path())


def changed_value(name: str, value: object, listener: Listener, other: Listener) -> object:
    """Another valid value for a destination field."""
    if name == "endpoint":
        return f"localhost:{other.port}" if ":" in str(value) else "localhost"
    if name in {"authority_url", "workspace_url"}:
        return other.url.replace("127.0.0.1", "localhost")
    if name == "resource_url":
        return "https://management.azure.com/"
    if name == "port":
        return other.port
    if name == "protocol":
        return "http" if value == "https" else "https"
    if name == "tenant_id":
        return GUIDS[1]
    if isinstance(value, bool):
        return not value
    return f"{value}x"


def post_data(datastore: Datastore, auth_type: str, values: dict) -> dict:
    form_fields = datastore.backend.form_fields(auth_type, updating=True)
    data = {"auth_type": auth_type}
    for name, form_field in form_fields.items():
        value = values.get(name)
        if isinstance(form_field, forms.BooleanField):
            if value:
                data[name] = "on"
        elif value is not None and not isinstance(form_field, SecretField):
            data[name] = str(value)
    # The check is on: whatever was stored would be sent now.
    data.pop("skip_validation", None)
    if "validate_now" in form_fields:
        data["validate_now"] = "on"
    return data


@pytest.mark.parametrize("storage_type, auth_type", cases())
def test_changing_where_a_secret_goes_requires_it_again_and_nothing_is_sent(
    client, workspace, listener, storage_type, auth_type
):
    backend = BACKENDS[storage_type]
    with Listener("silent", tls=True) as other:
        method_fields = backend.form_fields(auth_type)
        raw = {
            name: first_value(name, form_field, listener, has_port="port" in method_fields)
            for name, form_field in method_fields.items()
        }
        if "skip_validation" in raw:
            raw["skip_validation"] = True
        values = backend.clean_values(auth_type, raw)
        datastore = services.datastore_register(
            workspace=workspace, name="walked", storage_type=storage_type, auth_type=auth_type, values=values
        )
        stored = dict(datastore.connection_settings)
        destinations = [
            name
            for name, form_field in method_fields.items()
            if name in backend.setting_names(auth_type) and name not in NOT_A_DESTINATION
        ]
        assert destinations, f"{storage_type} has no field that says where its secret goes?"
        url = reverse("datastore_edit_auth", args=[workspace.name, datastore.name])
        for name in destinations:
            changed = {**values, name: changed_value(name, values[name], listener, other)}
            page = client.post(url, post_data(datastore, auth_type, changed)).content.decode()
            secret = backend.secret_names(auth_type)[0]
            errors = re.findall(
                r'id="field-([a-z_]+)"(?:(?!id="field-).)*?<p class="error" role="alert">(.*?)</p>', page, re.S
            )
            if not errors:
                errors = page[:3000]
            assert "Type the secret again" in field_block(page, secret), f"{storage_type}: changing {name}: {errors}"
            assert listener.connections == 0 and other.connections == 0, f"{storage_type}: changing {name} sent it"
            datastore.refresh_from_db()
            assert datastore.connection_settings == stored


def test_the_listener_would_see_a_check_that_keeps_the_stored_secret(client, workspace, listener, settings):
    """The control: a change that is not a destination keeps the stored secret, and the check
    reaches the listener, which records it."""
    settings.STORAGE_TIMEOUT_SECONDS = 2
    backend = BACKENDS["DBFS"]
    token = remember_secret("dapi" + "5" * 32)
    values = backend.clean_values(AuthType.NONE, {"workspace_url": listener.url, "access_token": token})
    datastore = services.datastore_register(
        workspace=workspace, name="control", storage_type="DBFS", auth_type="none", values=values
    )
    url = reverse("datastore_edit_auth", args=[workspace.name, datastore.name])
    client.post(url, {"auth_type": "none", "workspace_url": listener.url, "validate_now": "on"})
    assert listener.connections == 1
    assert listener.saw(token)
