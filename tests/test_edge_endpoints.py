"""Endpoints, hosts and URLs are parsed into their parts: a suffix typed after a path, a
userinfo or a fragment no longer passes the allow-list, and the URL a client library uses is
built from the parsed parts only. A loopback listener records whether anything was sent."""

from __future__ import annotations

import secrets
import string
from urllib.parse import urlsplit

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from datastores.storage import BACKENDS, AuthType, Connection

# Names used inside the tests only, so that the finding tests also run on older code.
from datastores.storage import endpoints as ep
from datastores.storage.azure_storage import account_url
from datastores.storage.sql import base as sql_base

from .listeners import Listener
from .pages import field_block
from .support import AZURITE_ACCOUNT, AZURITE_KEY, remember_secret

pytestmark = pytest.mark.django_db


@pytest.fixture
def nothing_local_allowed(settings):
    """As in production: no host beyond Azure's suffixes, so the listener is reachable only
    through a parsing mistake."""
    settings.DATASTORE_ALLOWED_HOSTS = []
    return settings


@pytest.fixture
def listener():
    with Listener("silent") as recording:
        yield recording


SMUGGLED_STORAGE_ENDPOINTS = [
    "127.0.0.1:{port}/.core.windows.net",
    "x@127.0.0.1:{port}/.core.windows.net",
    "x@127.0.0.1:{port}#.core.windows.net",
    "x@127.0.0.1:{port}?.core.windows.net",
    "127.0.0.1:{port}\\.core.windows.net",
    "127.0.0.1:{port},.core.windows.net",
    "127.0.0.1:{port} .core.windows.net",
]


@pytest.mark.parametrize("auth_type", ["account_key", "sas_token"])
@pytest.mark.parametrize("endpoint", SMUGGLED_STORAGE_ENDPOINTS)
def test_a_storage_suffix_smuggled_after_a_host_is_refused_and_no_key_or_sas_is_sent(
    client, workspace, nothing_local_allowed, listener, endpoint, auth_type
):
    sas = remember_secret(f"sv=2024-08-04&sp=rl&se=2099-01-01T00:00:00Z&sig={secrets.token_urlsafe(16)}")
    page = client.post(
        reverse("datastore_new", args=[workspace.name]),
        {
            "name": "smuggled",
            "storage_type": "AzureBlob",
            "auth_type": auth_type,
            "account_name": AZURITE_ACCOUNT,
            "container_name": "data",
            "protocol": "http",
            "endpoint": endpoint.format(port=listener.port),
            "account_key": remember_secret(AZURITE_KEY),
            "sas_token": sas,
        },
    ).content.decode()
    assert listener.connections == 0, "the client connected to the listener"
    assert not listener.saw("sig=") and not listener.saw("SharedKey")
    assert "is not a valid value here" in field_block(
        page, "endpoint"
    ) or "nor a host this studio allows" in field_block(page, "endpoint")


@pytest.mark.parametrize(
    "workspace_url",
    [
        "https://127.0.0.1:{port}#.azuredatabricks.net",
        "https://127.0.0.1:{port}/.azuredatabricks.net",
        "https://x@127.0.0.1:{port}/?.azuredatabricks.net",
        "https://127.0.0.1:{port}?x=.azuredatabricks.net",
    ],
)
def test_a_databricks_suffix_smuggled_after_a_host_is_refused_and_no_token_is_sent(
    client, workspace, nothing_local_allowed, listener, workspace_url
):
    token = remember_secret(f"dapi{secrets.token_hex(16)}")
    page = client.post(
        reverse("datastore_new", args=[workspace.name]),
        {
            "name": "smuggled",
            "storage_type": "DBFS",
            "auth_type": "none",
            "validate_now": "on",
            "workspace_url": workspace_url.format(port=listener.port),
            "access_token": token,
        },
    ).content.decode()
    assert listener.connections == 0, "the client connected to the listener"
    assert "Type an https URL with a host only" in field_block(page, "workspace_url")


@pytest.mark.parametrize(
    "server_name, endpoint",
    [
        ("a,/tmp", "postgres.database.azure.com"),
        ("a", "postgres.database.azure.com,/tmp"),
        ("a", "127.0.0.1,/var/run/postgresql"),
        ("a host=/tmp", "postgres.database.azure.com"),
        ("a", "/tmp/.s.PGSQL.5432#.postgres.database.azure.com"),
    ],
)
def test_a_postgres_host_list_or_socket_path_is_refused_on_the_field(client, workspace, server_name, endpoint):
    page = client.post(
        reverse("datastore_new", args=[workspace.name]),
        {
            "name": "hostlist",
            "storage_type": "AzurePostgreSql",
            "auth_type": "sql_authentication",
            "server_name": server_name,
            "database_name": "postgres",
            "port": "5432",
            "endpoint": endpoint,
            "user_id": "postgres",
            "password": remember_secret("pw-host-list"),
        },
    ).content.decode()
    assert "is not a valid value here" in page or "A server name is made of letters" in page


def test_an_authority_url_with_a_path_or_userinfo_is_refused(client, workspace):
    for authority in (
        "https://login.microsoftonline.com.evil.example",
        "https://evil@login.microsoftonline.com",
        "https://127.0.0.1#login.microsoftonline.com",
        "https://login.microsoftonline.com/x/../y",
    ):
        page = client.post(
            reverse("datastore_new", args=[workspace.name]),
            {
                "name": "sp",
                "storage_type": "AzureDataLakeGen2",
                "auth_type": "service_principal",
                "authority_url": authority,
            },
        ).content.decode()
        block = field_block(page, "authority_url")
        assert "is not a valid value here" in block or "nor a host this studio allows" in block


def test_a_suffix_matches_at_a_label_boundary_only():
    assert ep.under_suffix("myaccount.blob.core.windows.net", ep.STORAGE)
    assert ep.under_suffix("core.windows.net", ep.STORAGE)
    assert not ep.under_suffix("evilcore.windows.net", ep.STORAGE)
    assert not ep.under_suffix("core.windows.net.evil.example", ep.STORAGE)


def test_an_allowed_host_is_allowed_only_on_the_port_it_is_listed_with(settings):
    settings.DATASTORE_ALLOWED_HOSTS = ["10.1.2.3:10000", "storage.internal"]
    assert ep.clean_endpoint("10.1.2.3:10000", ep.STORAGE) == "10.1.2.3:10000"
    assert ep.clean_endpoint("STORAGE.internal:8443", ep.STORAGE) == "storage.internal:8443"
    with pytest.raises(ValidationError, match="allowed on other ports only"):
        ep.clean_endpoint("10.1.2.3:10001", ep.STORAGE)


# --- whatever the parser accepts builds a URL whose host is the parsed host -----------------

HOST_CHARS = string.ascii_letters + string.digits + ".-:[]@#/?\\,; \t\n%_~!$&'()*+=" + "é"
hosts = st.one_of(
    st.text(alphabet=HOST_CHARS, max_size=40),
    st.builds(
        lambda name, suffix, port, junk: f"{name}{junk}{suffix}" + (f":{port}" if port is not None else ""),
        st.from_regex(r"[a-z0-9-]{0,12}", fullmatch=True),
        st.sampled_from([".core.windows.net", "core.windows.net", ".azuredatabricks.net", "127.0.0.1", "[::1]"]),
        st.one_of(st.none(), st.integers(min_value=-5, max_value=70000)),
        st.sampled_from(["", ".", "@", "#", "/", "?", ":", "%2e", "\\", " "]),
    ),
)


@hypothesis_settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=hosts)
def test_whatever_the_netloc_parser_accepts_builds_a_url_whose_host_is_the_parsed_host(text):
    try:
        address = ep.parse_netloc(text)
    except ep.BadAddress:
        return
    built = urlsplit(f"https://{address.netloc}/account")
    assert built.hostname == address.host
    assert built.port == address.port
    assert built.username is None and built.path == "/account" and not built.query and not built.fragment


@hypothesis_settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    text=st.builds(
        lambda scheme, host, tail: scheme + host + tail,
        st.sampled_from(["https://", "http://", "https:/", "HTTPS://", ""]),
        hosts,
        st.sampled_from(["", "/", "/x", "?a", "#b", "//", "/."]),
    )
)
def test_whatever_the_url_parser_accepts_builds_a_url_whose_host_is_the_parsed_host(text):
    try:
        address = ep.parse_url(text)
    except ep.BadAddress:
        return
    built = urlsplit(address.url("api", "2.0", "dbfs"))
    assert built.scheme == "https" and built.hostname == address.host and built.port == address.port
    assert built.username is None and built.path == "/api/2.0/dbfs"


@pytest.mark.django_db(databases=[])
@hypothesis_settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(endpoint=hosts, server=st.text(alphabet=HOST_CHARS, max_size=20))
def test_whatever_the_fields_accept_is_where_the_clients_connect(endpoint, server):
    """Through the real form fields: an accepted endpoint (and server name) gives a storage URL
    and a database address whose host is under an Azure suffix, or is the allowed host itself."""
    blob, postgres = BACKENDS["AzureBlob"], BACKENDS["AzurePostgreSql"]
    try:
        values = blob.clean_values(
            AuthType.ACCOUNT_KEY,
            {
                "account_name": "myaccount",
                "container_name": "data",
                "protocol": "https",
                "endpoint": endpoint,
                "account_key": AZURITE_KEY,
            },
        )
    except Exception:
        values = None
    if values is not None:
        host = urlsplit(account_url(Connection("AzureBlob", AuthType.ACCOUNT_KEY, values), "blob")).hostname
        assert host is not None
        assert host.endswith(".blob." + values["endpoint"].split(":")[0]) or host in ("127.0.0.1", "localhost")
        assert any(host.endswith("." + suffix) for suffix in ep.AZURE_SUFFIXES) or host in ("127.0.0.1", "localhost")
    try:
        values = postgres.clean_values(
            AuthType.SQL_AUTHENTICATION,
            {
                "server_name": server,
                "database_name": "d",
                "port": "5432",
                "endpoint": endpoint,
                "user_id": "u",
                "password": "p",
            },
        )
    except Exception:
        return
    host = sql_base.server_address(Connection("AzurePostgreSql", AuthType.SQL_AUTHENTICATION, values)).host
    assert "," not in host and "/" not in host and " " not in host
    assert host.endswith(".postgres.database.azure.com") or host in ("127.0.0.1", "localhost")


def test_an_https_url_field_keeps_nothing_but_scheme_and_host():
    assert ep.clean_url("https://Login.MicrosoftOnline.com/", ("login.microsoftonline.com",), "x") == (
        "https://login.microsoftonline.com/"
    )
