"""The network guard: addresses checked after resolution and connected to as checked, no
redirect followed, one deadline per call whatever the peer does, and one message (after a
fixed minimum time) for every transport failure, so validation is no port scanner.

Every server here is a loopback listener (tests/listeners.py) or a stand-in."""

from __future__ import annotations

import ipaddress
import re
import socket
import time

import pytest
from django.urls import reverse

from datastores.storage import (
    network,  # names used inside the tests only (the finding tests run on older code too)
)

from .listeners import Listener
from .pages import field_block
from .support import AZURITE_ACCOUNT, AZURITE_KEY, remember_secret

pytestmark = pytest.mark.django_db

UNREACHABLE_FLOOR_SECONDS = 1.0  # what the studio promises: no transport failure answered sooner


def register_blob(client, workspace, endpoint: str, **overrides):
    return client.post(
        reverse("datastore_new", args=[workspace.name]),
        {
            "name": "guarded",
            "storage_type": "AzureBlob",
            "auth_type": "account_key",
            "account_name": AZURITE_ACCOUNT,
            "container_name": "data",
            "protocol": "http",
            "endpoint": endpoint,
            "account_key": remember_secret(AZURITE_KEY),
            **overrides,
        },
    ).content.decode()


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "127.8.9.10",
        "10.0.0.1",
        "172.16.5.4",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",
        "224.0.0.251",
        "240.0.0.1",
        "255.255.255.255",
        "::1",
        "::",
        "fe80::1",
        "fd00::1",
        "ff02::1",
        "::ffff:127.0.0.1",
        "::ffff:169.254.169.254",
        "2002:7f00:1::1",
        "64:ff9b::a9fe:a9fe",
    ],
)
def test_loopback_private_link_local_and_reserved_addresses_are_refused(address):
    assert network.refused_address(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ["20.60.0.1", "13.107.246.10", "2603:1000::1"])
def test_public_addresses_are_allowed(address):
    assert not network.refused_address(ipaddress.ip_address(address))


@pytest.fixture
def resolver(monkeypatch):
    """The system resolver, answering chosen addresses for chosen names (a DNS server's answer),
    counting the questions. Nothing else of the network is touched."""
    answers: dict[str, list[str]] = {}
    asked: list[str] = []
    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        asked.append(str(host))
        if host in answers:
            addresses = answers[host]
            if len(addresses) > 1:
                addresses = [addresses.pop(0), *addresses[1:]]  # the next answer differs: rebinding
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (addresses[0], port))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return answers, asked


def test_an_azure_name_that_resolves_to_loopback_is_refused_before_connecting(client, workspace, resolver, settings):
    settings.DATASTORE_ALLOWED_HOSTS = []
    answers, _asked = resolver
    with Listener("silent") as listener:
        answers[f"{AZURITE_ACCOUNT}.blob.core.windows.net"] = ["127.0.0.1"]
        page = register_blob(client, workspace, "core.windows.net")
    assert "resolves to a loopback, private, link-local or reserved address" in field_block(page, "endpoint")
    assert "DATASTORE_ALLOWED_HOSTS" in field_block(page, "endpoint")
    assert listener.connections == 0


def test_the_metadata_address_is_refused_for_a_token_request(client, workspace, resolver, settings):
    answers, _asked = resolver
    answers["login.microsoftonline.com"] = ["169.254.169.254"]
    page = client.post(
        reverse("datastore_new", args=[workspace.name]),
        {
            "name": "lake",
            "storage_type": "AzureDataLakeGen2",
            "auth_type": "service_principal",
            "account_name": "lakeacct",
            "filesystem": "raw",
            "protocol": "https",
            "endpoint": "core.windows.net",
            "tenant_id": "6f1c2a4e-0000-4000-8000-00000000a11d",
            "client_id": "11111111-1111-4111-8111-111111111111",
            "client_secret": remember_secret("sp-secret-metadata"),
            "resource_url": "https://storage.azure.com/",
            "authority_url": "https://login.microsoftonline.com",
            "validate_now": "on",
        },
    ).content.decode()
    assert "resolves to a loopback, private, link-local or reserved address" in field_block(page, "authority_url")


def test_a_listed_host_is_connected_to_at_the_address_it_resolved_to_once(settings, resolver):
    """The connection goes to the checked answer; the Host header (and TLS name) stay the name."""
    answers, asked = resolver
    settings.DATASTORE_ALLOWED_HOSTS = ["storage.studio-test"]
    with Listener("silent") as first, Listener("silent", host="127.0.0.2") as second:
        answers["storage.studio-test"] = ["127.0.0.1", "127.0.0.2"]
        session = network.session()
        with pytest.raises(OSError):  # requests' errors are OSErrors too
            session.get(f"http://storage.studio-test:{first.port}/x", timeout=(1, 1))
        deadline = time.monotonic() + 2
        while not first.received and time.monotonic() < deadline:
            time.sleep(0.05)
    assert asked.count("storage.studio-test") == 1
    assert first.connections == 1 and second.connections == 0
    assert f"Host: storage.studio-test:{first.port}".encode() in bytes(first.received)


def test_a_host_not_allowed_is_refused_by_the_transport_itself(settings):
    settings.DATASTORE_ALLOWED_HOSTS = []
    with Listener("silent") as listener:
        with pytest.raises(network.AddressRefused):
            network.open_socket("127.0.0.1", listener.port)
        with pytest.raises(network.AddressRefused):
            network.open_socket("localhost", listener.port)
    assert listener.connections == 0


# --- redirects -----------------------------------------------------------------------------


def test_a_storage_redirect_is_an_error_and_is_not_followed(client, workspace):
    with Listener("silent") as elsewhere:
        with Listener("redirect", location=f"{elsewhere.url}/devstoreaccount1/data?comp=list") as redirecting:
            page = register_blob(client, workspace, redirecting.endpoint)
    assert "answered with a redirect. The studio follows no redirect" in field_block(page, "endpoint")
    assert elsewhere.connections == 0


def test_a_dbfs_redirect_is_an_error_and_the_token_does_not_follow_it(client, workspace, trust_standin_ca):
    token = remember_secret("dapi" + "7" * 32)
    with Listener("silent", tls=True) as elsewhere:
        with Listener("redirect", tls=True, location=f"{elsewhere.url}/api/2.0/dbfs/get-status") as redirecting:
            page = client.post(
                reverse("datastore_new", args=[workspace.name]),
                {
                    "name": "bricks",
                    "storage_type": "DBFS",
                    "auth_type": "none",
                    "validate_now": "on",
                    "workspace_url": redirecting.url,
                    "access_token": token,
                },
            ).content.decode()
    assert "answered with a redirect" in field_block(page, "workspace_url")
    assert elsewhere.connections == 0


@pytest.fixture
def trust_standin_ca(monkeypatch):
    from tests.standins.tls import ca_bundle_path

    monkeypatch.setenv("SSL_CERT_FILE", ca_bundle_path())
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", ca_bundle_path())


# --- one deadline per call --------------------------------------------------------------------


def test_a_server_that_drips_a_header_line_every_second_is_cut_off_at_the_deadline(client, workspace, settings):
    """Each line comes well within the read timeout, so only a total deadline ends the check."""
    settings.STORAGE_TIMEOUT_SECONDS = 3
    with Listener("drip", drip_seconds=1.0, lifetime=40) as dripping:
        started = time.monotonic()
        page = register_blob(client, workspace, dripping.endpoint)
        elapsed = time.monotonic() - started
    assert elapsed < 7, f"the check took {elapsed:.1f} s with STORAGE_TIMEOUT_SECONDS=3"
    assert f"{dripping.endpoint} could not be reached" in field_block(page, "endpoint")


def test_a_dripping_token_endpoint_is_cut_off_at_the_deadline(settings, trust_standin_ca):
    from datastores.storage import AuthType, Connection
    from datastores.storage.entra import access_token
    from datastores.storage.errors import Unreachable

    settings.STORAGE_TIMEOUT_SECONDS = 3
    with Listener("drip", tls=True, drip_seconds=1.0, lifetime=40) as dripping:
        connection = Connection(
            "AzureSqlDatabase",
            AuthType.SERVICE_PRINCIPAL,
            {
                "tenant_id": "6f1c2a4e-0000-4000-8000-00000000a11d",
                "client_id": "11111111-1111-4111-8111-111111111111",
                "client_secret": remember_secret("drip-secret"),
                "authority_url": dripping.url,
            },
        )
        started = time.monotonic()
        with pytest.raises(Unreachable):
            access_token(connection, "https://database.windows.net/")
        elapsed = time.monotonic() - started
    assert elapsed < 8  # tenant discovery and the token request, each cut at 3 s


# --- no port scanner -------------------------------------------------------------------------


def _message(page: str, field: str, endpoint: str) -> str:
    block = field_block(page, field)
    found = re.search(r'<p class="error" role="alert">(.*?)</p>', block, re.S)
    assert found, block
    return found.group(1).replace(endpoint, "HOST:PORT")


@pytest.fixture
def four_kinds_of_port():
    """A closed port, a port that hangs up, one that answers garbage, one that never answers."""
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    closed_port = closed.getsockname()[1]
    closed.close()
    with (
        Listener("hang_up") as hang_up,
        Listener("garbage") as garbage,
        Listener("garbage", tls=True) as tls,
        Listener("silent") as silent,
    ):
        yield {
            "closed": f"127.0.0.1:{closed_port}",
            "hang_up": hang_up.endpoint,
            "garbage": garbage.endpoint,
            "tls": tls.endpoint,
            "silent": silent.endpoint,
        }


def test_storage_validation_says_the_same_after_the_same_minimum_for_every_kind_of_port(
    client, workspace, settings, four_kinds_of_port
):
    settings.STORAGE_TIMEOUT_SECONDS = 2
    messages, times = {}, {}
    for kind, endpoint in four_kinds_of_port.items():
        started = time.monotonic()
        page = register_blob(client, workspace, endpoint)
        times[kind] = time.monotonic() - started
        messages[kind] = _message(page, "endpoint", endpoint)
    assert len(set(messages.values())) == 1, messages
    assert "HOST:PORT could not be reached" in messages["closed"]
    assert min(times.values()) >= UNREACHABLE_FLOOR_SECONDS, times


@pytest.mark.parametrize("storage_type, port_field", [("AzurePostgreSql", "port"), ("AzureMySql", "port")])
def test_database_validation_says_the_same_after_the_same_minimum_for_every_kind_of_port(
    client, workspace, settings, four_kinds_of_port, storage_type, port_field
):
    settings.STORAGE_TIMEOUT_SECONDS = 2
    messages, times = {}, {}
    for kind, endpoint in four_kinds_of_port.items():
        port = endpoint.rsplit(":", 1)[1]
        started = time.monotonic()
        page = client.post(
            reverse("datastore_new", args=[workspace.name]),
            {
                "name": "scan",
                "storage_type": storage_type,
                "auth_type": "sql_authentication",
                "server_name": "x",
                "database_name": "d",
                "port": port,
                "endpoint": "127.0.0.1",
                "user_id": "u",
                "password": remember_secret("scan-password"),
            },
        ).content.decode()
        times[kind] = time.monotonic() - started
        messages[kind] = _message(page, "server_name", endpoint)
    assert len(set(messages.values())) == 1, messages
    assert min(times.values()) >= UNREACHABLE_FLOOR_SECONDS, times
