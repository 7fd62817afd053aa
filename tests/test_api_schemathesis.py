"""Schemathesis against /api/v1/openapi.json, in-process (WSGI), with a seeded database: a
workspace with Blob (Azurite), File Share (stand-in), PostgreSQL and DBFS datastores, an owner's
token, and a reader to manage. Every generated request must get no 5xx and a response that the
schema allows. Bounded (a few examples per operation, derandomized) to keep CI short."""

from __future__ import annotations

import itertools

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from datastores.access import Actor
from datastores.models import Role
from datastores.services import datastore_register, member_add, workspace_create
from datastores.storage import AuthType, backend_for

from .api_support import token_for
from .support import FILESHARE_ACCOUNT, FILESHARE_KEY

EXAMPLES_PER_OPERATION = 8
DATASTORES = ["workspaceblobstore", "share", "sales", "lake", "nothing_here"]


@pytest.fixture
def api_schema(db, settings):
    settings.ALLOWED_HOSTS = ["localhost"]  # schemathesis's WSGI requests name this host
    # As Django's test client does: a request's end must not close the test's connection
    # (it is inside the test's transaction).
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield schemathesis.openapi.from_wsgi("/api/v1/openapi.json", get_wsgi_application())
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def seeded(django_user_model, azurite_url, blob_service, fileshare_standin, share_name, pg):
    owner = django_user_model.objects.create_user(username="olive")
    django_user_model.objects.create_user(username="rita", email="rita@example.com")
    workspace = workspace_create(actor=Actor(user=owner), name="seeded")
    member_add(actor=Actor(user=owner), workspace=workspace, who="rita", role=Role.READER)
    container = workspace.datastores.get(name="workspaceblobstore").connection_settings["container_name"]
    blob_service.get_container_client(container).upload_blob("data/a.txt", b"alpha")
    values = {
        "share": (
            "AzureFile",
            AuthType.ACCOUNT_KEY,
            {
                "account_name": FILESHARE_ACCOUNT,
                "file_share_name": share_name,
                "protocol": "http",
                "endpoint": fileshare_standin.base_url.removeprefix("http://"),
                "account_key": FILESHARE_KEY,
            },
        ),
        "sales": ("AzurePostgreSql", AuthType.SQL_AUTHENTICATION, pg.form()),
        "lake": ("DBFS", AuthType.NONE, {}),
    }
    for name, (storage_type, auth_type, raw) in values.items():
        datastore_register(
            workspace=workspace,
            name=name,
            storage_type=storage_type,
            auth_type=auth_type,
            values=backend_for(storage_type).clean_values(auth_type, raw),
        )
    return {"token": token_for(owner), "names": itertools.cycle(DATASTORES)}


def aim(case, names) -> None:
    """Aim most requests at what exists, so they reach the services and the storage behind them."""
    parameters = case.path_parameters or {}
    if "workspace" in parameters:
        parameters["workspace"] = "seeded"
    if "name" in parameters:
        parameters["name"] = next(names)
    if "username" in parameters:
        parameters["username"] = "rita"
    if "schema_name" in parameters:
        parameters["schema_name"], parameters["table"] = "public", "orders"


# schemathesis's own pytest plugin (schema.parametrize) does not run under pytest 9 (it reads a
# removed attribute), so each operation's strategy is driven with hypothesis directly.
@pytest.mark.django_db
def test_the_api_answers_every_generated_request_within_its_schema(api_schema, seeded):
    headers = {"Authorization": f"Bearer {seeded['token']}"}
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) > 25
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            derandomize=True,
            database=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        def check(case) -> None:
            aim(case, seeded["names"])
            case.call_and_validate(headers=headers, checks=[not_a_server_error, response_schema_conformance])

        check()
