"""With DEBUG on, a failure inside any storage type's check shows a debug page without a
secret: not the typed ones (POST data, the connection in the frames' variables, the request's
headers), not the settings' (the workspace storage account's key, the database URL)."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from datastores.storage import BACKENDS, network

from .destinations import cases, first_value
from .lakes.stores import READER_ID, READER_SECRET, TENANT
from .listeners import Listener
from .support import AZURITE_KEY

pytestmark = pytest.mark.django_db


class ForcedFailure(RuntimeError):
    pass


@pytest.fixture
def failing_resolver(monkeypatch):
    """Every connection fails deep inside the client library, with an error no backend expects;
    except to the ports in the returned set (the token stand-in, so a service principal's check
    gets as far as the storage call)."""
    spared: set[int] = set()
    real = network.resolve

    def fail(host: str, port: int):
        if port in spared:
            return real(host, port)
        raise ForcedFailure("forced failure while resolving")

    monkeypatch.setattr(network, "resolve", fail)
    return spared


@pytest.mark.parametrize("storage_type, auth_type", cases())
def test_a_failure_inside_the_check_shows_no_secret_on_the_debug_page(
    request, settings, user, workspace, failing_resolver, storage_type, auth_type
):
    settings.DEBUG = True
    backend = BACKENDS[storage_type]
    debug_client = Client(raise_request_exception=False)
    debug_client.force_login(user)
    with Listener("silent", tls=True) as listener:
        fields = backend.form_fields(auth_type)
        values = {name: first_value(name, field, listener, has_port="port" in fields) for name, field in fields.items()}
    if auth_type == "service_principal":
        aad = request.getfixturevalue("aad")
        failing_resolver.add(aad.port)
        values.update(tenant_id=TENANT, client_id=READER_ID, client_secret=READER_SECRET, authority_url=aad.authority)
    data = {"name": "debugged", "storage_type": storage_type, "auth_type": auth_type}
    for name, value in values.items():
        if value is True:
            data[name] = "on"
        elif value not in (None, False):
            data[name] = str(value)
    data.pop("skip_validation", None)
    data["validate_now"] = "on"
    secrets = [str(values[name]) for name in backend.secret_names(auth_type)] + [AZURITE_KEY]

    response = debug_client.post(reverse("datastore_new", args=[workspace.name]), data)

    page = response.content.decode()
    assert response.status_code == 500 and "ForcedFailure" in page, "the check did not fail inside the library"
    leaked = [secret for secret in secrets if secret in page]
    assert not leaked, f"{storage_type}: the debug page shows a secret"
