"""/api/v1/ datastores, for every storage type: register (the same checks and messages as the
form), get, list by cursor, default, update authentication, test connection, unregister.
Against Azurite, PostgreSQL, MariaDB and the stand-ins (Azure Files, Entra ID, ADLS Gen1 and
Gen2, DBFS) that check the credentials they are sent."""

from __future__ import annotations

import json

import pytest
from django.test import override_settings

from datastores.forms import DatastoreForm
from datastores.models import AuditAction, AuditEntry, Datastore

from .api_support import ApiClient, token_for
from .support import (
    AZURITE_ACCOUNT,
    AZURITE_KEY,
    FILESHARE_ACCOUNT,
    FILESHARE_KEY,
    remember_secret,
    sas_for,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(user) -> ApiClient:
    return ApiClient(token_for(user))


def blob_body(azurite_endpoint: str, container: str, **overrides) -> dict:
    return {
        "name": "blobby",
        "storage_type": "AzureBlob",
        "auth_type": "account_key",
        "account_name": AZURITE_ACCOUNT,
        "container_name": container,
        "protocol": "http",
        "endpoint": azurite_endpoint,
        "account_key": remember_secret(AZURITE_KEY),
        **overrides,
    }


def register(api: ApiClient, workspace, body: dict):
    return api.post(f"workspaces/{workspace.name}/datastores", json=body)


def test_a_blob_datastore_with_an_account_key_registers_and_reads_back_without_its_key(
    api, workspace, azurite_endpoint, container_name
):
    response = register(api, workspace, blob_body(azurite_endpoint, container_name))
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["storage_type"] == "AzureBlob" and body["settings"]["container_name"] == container_name
    assert body["secrets"] == [
        {"field": "account_key", "label": "Account key", "updated_at": body["secrets"][0]["updated_at"]}
    ]
    assert body["last_check"]["ok"] is True
    got = api.get(f"workspaces/{workspace.name}/datastores/blobby")
    assert got.status_code == 200 and AZURITE_KEY not in got.content.decode()
    assert AuditEntry.objects.filter(action=AuditAction.DATASTORE_REGISTERED, datastore_name="blobby").exists()


def test_a_blob_datastore_with_a_sas_token_registers(api, workspace, azurite_endpoint, container_name):
    sas = sas_for(container_name, read=True, list=True)
    response = register(
        api,
        workspace,
        blob_body(azurite_endpoint, container_name, auth_type="sas_token", account_key=None, sas_token=sas),
    )
    assert response.status_code == 201, response.content
    assert Datastore.objects.get(name="blobby").connection()["sas_token"] == sas


def test_a_wrong_key_is_refused_as_the_form_refuses_it_and_nothing_is_saved(
    api, workspace, azurite_endpoint, container_name
):
    wrong = remember_secret("V3JvbmdLZXlXcm9uZ0tleVdyb25nS2V5V3JvbmdLZXlXcm9uZ0tleVdyb25nS2V5")
    response = register(api, workspace, blob_body(azurite_endpoint, container_name, account_key=wrong))
    assert response.status_code == 502 and response["Content-Type"] == "application/problem+json"
    assert response.json()["field"] == "account_key" and "Authentication failed" in response.json()["detail"]
    assert not Datastore.objects.filter(name="blobby").exists()


def test_skip_validation_and_create_if_not_exists_are_honoured(api, workspace, azurite_endpoint, blob_service):
    skipped = register(api, workspace, blob_body(azurite_endpoint, "never-made", skip_validation=True))
    assert skipped.status_code == 201 and skipped.json()["last_check"]["ok"] is None
    made = register(api, workspace, blob_body(azurite_endpoint, "made-by-api", name="made", create_if_not_exists=True))
    assert made.status_code == 201
    assert blob_service.get_container_client("made-by-api").exists()


@pytest.mark.parametrize(
    "overrides, field",
    [
        ({"account_name": "My_Account"}, "account_name"),
        ({"container_name": "Data--Set"}, "container_name"),
        ({"container_name": None}, "container_name"),
        ({"account_key": "not base64!"}, "account_key"),
        ({"account_key": None}, "account_key"),
        ({"auth_type": "sas_token", "sas_token": "sv=2024&sp=rl&se=2030-01-01"}, "sas_token"),
        ({"auth_type": "sas_token", "sas_token": "?sv=2024&sp=rl&se=2020-01-01T00:00:00Z&sig=abc"}, "sas_token"),
        ({"subscription_id": "subscription-1"}, "subscription_id"),
        ({"endpoint": "storage.evil.example"}, "endpoint"),
        ({"protocol": "ftp"}, "protocol"),
        ({"name": "9lives"}, "name"),
    ],
)
def test_bad_input_gets_the_forms_message_on_the_same_field(api, workspace, azurite_endpoint, overrides, field):
    body = {key: value for key, value in blob_body(azurite_endpoint, "data", **overrides).items() if value is not None}
    response = register(api, workspace, body)
    assert response.status_code == 400 and response["Content-Type"] == "application/problem+json"
    problem = response.json()
    form = DatastoreForm({key: "" if value is None else str(value) for key, value in body.items()})
    assert not form.is_valid()
    assert problem["field"] == field
    assert problem["detail"] == form.errors[field][0]
    assert not Datastore.objects.filter(name__in=["blobby", "9lives"]).exists()


def test_an_unknown_storage_or_authentication_type_names_its_field(api, workspace, azurite_endpoint):
    unknown_type = register(api, workspace, blob_body(azurite_endpoint, "data", storage_type="Ftp")).json()
    assert unknown_type["field"] == "storage_type" and "Select a valid choice" in unknown_type["detail"]
    unknown_auth = register(api, workspace, blob_body(azurite_endpoint, "data", auth_type="password")).json()
    assert unknown_auth["field"] == "auth_type"


def test_an_existing_name_needs_overwrite(api, workspace, azurite_endpoint, container_name):
    body = blob_body(azurite_endpoint, container_name, name="workspacefilestore")
    taken = register(api, workspace, body)
    assert taken.status_code == 409 and taken.json()["field"] == "name"
    assert register(api, workspace, {**body, "overwrite": True}).status_code == 201
    assert Datastore.objects.get(workspace=workspace, name="workspacefilestore").storage_type == "AzureBlob"


def test_a_file_share_registers_against_the_stand_in(api, workspace, fileshare_standin, share_name):
    body = {
        "name": "share",
        "storage_type": "AzureFile",
        "auth_type": "account_key",
        "account_name": FILESHARE_ACCOUNT,
        "file_share_name": share_name,
        "protocol": "http",
        "endpoint": fileshare_standin.base_url.removeprefix("http://"),
        "account_key": FILESHARE_KEY,
    }
    assert register(api, workspace, body).status_code == 201


@pytest.mark.parametrize("lake_name", ["gen2", "gen1", "dbfs"])
def test_data_lakes_and_dbfs_register_and_validate_now(request, api, workspace, lake_name):
    """Against the stand-ins, which check the tokens and secrets they are sent."""
    lake = request.getfixturevalue(lake_name)
    backend = lake.backend
    body = {
        "name": lake_name,
        "storage_type": lake.storage_type,
        "auth_type": str(backend.auth_types[0]),
        **lake.values(),
    }
    if "validate_now" in backend.options:
        body["validate_now"] = True
    response = register(api, workspace, body)
    assert response.status_code == 201, response.content
    assert response.json()["last_check"]["ok"] is True


def test_sql_datastores_register_with_their_checks(api, workspace, pg, maria):
    for database in (pg, maria):
        form = dict(database.form().items())
        form["port"] = int(form["port"])
        response = register(api, workspace, form)
        assert response.status_code == 201, response.content
    wrong = register(api, workspace, pg.form(name="wrong", password=remember_secret("not-the-password"), port=pg.port))
    assert wrong.status_code == 502 and wrong.json()["field"] == "password"


def test_the_list_is_paginated_by_cursor_and_filtered(api, workspace):
    for number in range(5):
        register(api, workspace, {"name": f"lake{number}", "storage_type": "DBFS", "auth_type": "none"})
    seen, cursor = [], None
    while True:
        page = api.get(
            f"workspaces/{workspace.name}/datastores", data={"limit": 2, **({"cursor": cursor} if cursor else {})}
        ).json()
        seen += [item["name"] for item in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == sorted(["lake0", "lake1", "lake2", "lake3", "lake4", "workspaceblobstore", "workspacefilestore"])
    by_type = api.get(f"workspaces/{workspace.name}/datastores", data={"storage_type": "AzureFile"}).json()["items"]
    assert [item["name"] for item in by_type] == ["workspacefilestore"]
    by_name = api.get(f"workspaces/{workspace.name}/datastores", data={"name": "ke3"}).json()["items"]
    assert [item["name"] for item in by_name] == ["lake3"]


def test_default_get_and_set(api, workspace):
    assert api.get(f"workspaces/{workspace.name}/default-datastore").json()["name"] == "workspaceblobstore"
    assert (
        api.put(f"workspaces/{workspace.name}/default-datastore", json={"name": "workspacefilestore"}).status_code
        == 200
    )
    assert api.get(f"workspaces/{workspace.name}/default-datastore").json()["name"] == "workspacefilestore"


def test_update_authentication_keeps_a_blank_secret_and_checks_a_new_one(api, workspace, azurite_endpoint):
    url = f"workspaces/{workspace.name}/datastores/workspaceblobstore/authentication"
    stored = Datastore.objects.get(workspace=workspace, name="workspaceblobstore")
    body = {"storage_type": "AzureBlob", "auth_type": "account_key", **stored.connection_settings}
    kept = api.put(url, json=body)
    assert kept.status_code == 200, kept.content
    assert Datastore.objects.get(pk=stored.pk).connection()["account_key"] == AZURITE_KEY
    moved = api.put(url, json={**body, "endpoint": "127.0.0.1:1"})
    assert moved.status_code == 400 and moved.json()["field"] == "account_key"
    other_type = api.put(url, json={**body, "storage_type": "DBFS", "auth_type": "none"})
    assert other_type.status_code == 400 and other_type.json()["field"] == "storage_type"


def test_test_connection_and_unregister(api, workspace):
    tested = api.post(f"workspaces/{workspace.name}/datastores/workspaceblobstore/test-connection").json()
    assert tested["ok"] is True
    assert api.delete(f"workspaces/{workspace.name}/datastores/workspacefilestore").status_code == 204
    assert not Datastore.objects.filter(workspace=workspace, name="workspacefilestore").exists()
    assert api.get(f"workspaces/{workspace.name}/datastores/workspacefilestore").status_code == 404


def test_workspaces_and_members(api, workspace, django_user_model):
    django_user_model.objects.create_user(username="rita", email="rita@example.com")
    created = api.post("workspaces", json={"name": "from-api", "description": "made by a script"})
    assert created.status_code == 201 and created.json()["role"] == "owner"
    assert api.get("workspaces/from-api").json()["description"] == "made by a script"
    members = f"workspaces/{workspace.name}/members"
    assert api.post(members, json={"who": "rita@example.com", "role": "reader"}).status_code == 201
    assert api.post(members, json={"who": "nobody"}).json()["field"] == "who"
    assert api.patch(f"{members}/rita", json={"role": "contributor"}).json()["role"] == "contributor"
    assert [m["username"] for m in api.get(members).json()["items"]] == ["ada", "rita"]
    last_owner = api.patch(f"{members}/ada", json={"role": "reader"})
    assert last_owner.status_code == 409 and "last owner" in last_owner.json()["detail"]
    assert api.delete(f"{members}/rita").status_code == 204
    duplicate = api.post("workspaces", json={"name": "from-api"})
    assert duplicate.status_code == 400 and duplicate.json()["field"] == "name"


def test_a_body_over_the_limit_is_refused_before_it_is_read(api, workspace):
    with override_settings(API_MAX_BODY_BYTES=100):
        response = api.post(f"workspaces/{workspace.name}/datastores", json={"name": "x" * 200})
    assert response.status_code == 413 and response["Content-Type"] == "application/problem+json"


def test_the_audit_log_pages_by_cursor(api, workspace):
    first = api.get(f"workspaces/{workspace.name}/audit", data={"limit": 2}).json()
    assert len(first["items"]) == 2 and first["next_cursor"]
    second = api.get(f"workspaces/{workspace.name}/audit", data={"limit": 2, "before": first["next_cursor"]}).json()
    assert all(entry["id"] < first["items"][-1]["id"] for entry in second["items"])


def test_a_member_named_with_a_nul_character_is_refused_with_the_field_not_a_server_error(
    api, workspace, django_user_model
):
    """The form refuses NUL characters before they reach the database; the API's `who` goes to the
    query as sent, and PostgreSQL refuses a NUL even there (schemathesis found it)."""
    django_user_model.objects.create_user(username="rita", email="rita@example.com")
    refused = api.post(f"workspaces/{workspace.name}/members", json={"who": "rita\x00", "role": "reader"})
    assert refused.status_code == 409 and refused.json()["field"] == "who"
    assert "No single user has the username or email 'rita\\x00'" in refused.json()["detail"]
    assert [m["username"] for m in api.get(f"workspaces/{workspace.name}/members").json()["items"]] == ["ada"]


def test_the_openapi_document_and_its_docs_page_come_from_the_studio(anonymous_client):
    document = anonymous_client.get("/api/v1/openapi.json").json()
    assert document["openapi"].startswith("3.1")
    register_body = json.dumps(document["components"]["schemas"]["RegisterAzureBlobAccountKey"])
    assert '"writeOnly": true' in register_body  # the account key, from the backend's SecretField
    page = anonymous_client.get("/api/v1/docs").content.decode()
    assert "/static/ninja/swagger-ui-bundle.js" in page
    assert "//cdn" not in page and "unpkg" not in page and "jsdelivr" not in page
