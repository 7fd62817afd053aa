"""Azure ML's datastore routes (ARM shapes) and the managed-identity token route, through the
Django test client: ARM error bodies, api-version, the studio's own subscription and resource
group, types SDK v2 does not model left out, and access tokens that die with their personal token."""

from __future__ import annotations

import pytest
from django.conf import settings

from datastores.access import Actor
from datastores.models import AccessToken, AuditAction, AuditEntry
from datastores.services import datastore_register, token_revoke
from datastores.storage import AuthType, backend_for

from .api_support import ApiClient, token_for
from .support import AZURITE_KEY, remember_secret

pytestmark = pytest.mark.django_db
VERSION = "api-version=2024-10-01-preview"


def arm(workspace, rest: str = "", subscription: str | None = None) -> str:
    return (
        f"/subscriptions/{subscription or settings.STUDIO_SUBSCRIPTION_ID}"
        f"/resourceGroups/{settings.STUDIO_RESOURCE_GROUP}"
        f"/providers/Microsoft.MachineLearningServices/workspaces/{workspace.name}/datastores{rest}"
    )


@pytest.fixture
def api(user) -> ApiClient:
    return ApiClient(token_for(user))


def test_a_datastore_reads_back_in_azure_mls_shape_without_its_secret(api, workspace):
    body = api.get(f"{arm(workspace, '/workspaceblobstore')}?{VERSION}").json()
    assert (
        body["name"] == "workspaceblobstore"
        and body["type"] == "Microsoft.MachineLearningServices/workspaces/datastores"
    )
    assert body["id"] == arm(workspace, "/workspaceblobstore")
    properties = body["properties"]
    assert properties["datastoreType"] == "AzureBlob" and properties["isDefault"] is True
    assert properties["credentials"] == {"credentialsType": "AccountKey"}
    assert AZURITE_KEY not in str(body)


def test_types_sdk_v2_does_not_model_are_left_out(api, workspace):
    datastore_register(
        workspace=workspace,
        name="lake",
        storage_type="DBFS",
        auth_type=AuthType.NONE,
        values=backend_for("DBFS").clean_values(AuthType.NONE, {}),
    )
    names = [item["name"] for item in api.get(f"{arm(workspace)}?{VERSION}").json()["value"]]
    assert names == ["workspacefilestore", "workspaceblobstore"]  # orderByAsc=false: by name, descending
    missing = api.get(f"{arm(workspace, '/lake')}?{VERSION}")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "ResourceNotFound"


def test_errors_are_arm_bodies(api, workspace, anonymous_client):
    no_token = anonymous_client.get(f"{arm(workspace)}?{VERSION}")
    assert no_token.status_code == 401 and no_token.json()["error"]["code"] == "InvalidAuthenticationToken"
    assert no_token["WWW-Authenticate"].startswith("Bearer")
    assert api.get(arm(workspace)).json()["error"]["code"] == "MissingApiVersionParameter"
    assert api.get(f"{arm(workspace)}?api-version=latest").json()["error"]["code"] == "InvalidApiVersionParameter"
    other = api.get(f"{arm(workspace, subscription='00000000-0000-0000-0000-000000000000')}?{VERSION}")
    assert other.status_code == 404 and other.json()["error"]["code"] == "ResourceGroupNotFound"
    bad = api.put(
        f"{arm(workspace, '/bad')}?{VERSION}",
        json={
            "properties": {
                "datastoreType": "AzureBlob",
                "accountName": "UPPER",
                "containerName": "c1c",
                "credentials": {
                    "credentialsType": "AccountKey",
                    "secrets": {"secretsType": "AccountKey", "key": AZURITE_KEY},
                },
            }
        },
    )
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "ValidationError"
    assert "account_name: A storage account name has 3 to 24 characters" in bad.json()["error"]["message"]
    unknown_credentials = api.put(
        f"{arm(workspace, '/bad')}?{VERSION}",
        json={
            "properties": {
                "datastoreType": "AzureBlob",
                "accountName": "acct",
                "containerName": "c1c",
                "credentials": {"credentialsType": "Certificate"},
            }
        },
    )
    assert unknown_credentials.status_code == 400
    assert "AccountKey or Sas or None" in unknown_credentials.json()["error"]["message"]


def test_list_secrets_of_gen1_is_a_409_with_the_way_out(api, workspace):
    datastore_register(
        workspace=workspace,
        name="old_lake",
        storage_type="AzureDataLake",
        auth_type=AuthType.SERVICE_PRINCIPAL,
        values=backend_for("AzureDataLake").clean_values(
            AuthType.SERVICE_PRINCIPAL,
            {
                "store_name": "oldstore",
                "tenant_id": "6f1c2a4e-0000-4000-8000-00000000a11d",
                "client_id": "11111111-1111-4111-8111-111111111111",
                "client_secret": remember_secret("gen1-secret"),
            },
        ),
    )
    refused = api.post(
        f"{arm(workspace, '/old_lake/listSecrets')}?{VERSION}", json={"expirableSecret": True, "expireAfterHours": 1}
    )
    assert refused.status_code == 409 and "file and table routes" in refused.json()["error"]["message"]


def test_the_identity_route_issues_access_tokens_that_die_with_their_personal_token(user, anonymous_client):
    raw = token_for(user)
    answer = anonymous_client.get(
        "/api/identity/token?api-version=2019-08-01&resource=https://studio.example", headers={"X-IDENTITY-HEADER": raw}
    )
    assert answer.status_code == 200
    issued = answer.json()
    assert issued["token_type"] == "Bearer" and issued["resource"] == "https://studio.example"
    access_token = remember_secret(issued["access_token"])
    assert access_token.startswith("dsa_") and raw not in access_token
    assert ApiClient(access_token).get("workspaces").status_code == 200
    # An access token cannot get itself another one.
    assert (
        anonymous_client.get("/api/identity/token?resource=x", headers={"X-IDENTITY-HEADER": access_token}).status_code
        == 401
    )
    assert (
        anonymous_client.get("/api/identity/token?resource=x", headers={"X-IDENTITY-HEADER": "dsp_wrong"}).status_code
        == 401
    )
    token_revoke(actor=Actor(user=user), token=AccessToken.objects.get(user=user))
    assert ApiClient(access_token).get("workspaces").status_code == 401
    assert AuditEntry.objects.filter(action=AuditAction.ACCESS_TOKEN_ISSUED, actor=user).count() == 1


def test_a_tampered_access_token_is_refused(user, anonymous_client):
    raw = token_for(user)
    issued = anonymous_client.get("/api/identity/token?resource=x", headers={"X-IDENTITY-HEADER": raw}).json()[
        "access_token"
    ]
    remember_secret(issued)
    payload, _, signature = issued.rpartition(":")
    tampered = payload + ":" + ("A" if signature[0] != "A" else "B") + signature[1:]
    assert ApiClient(tampered).get("workspaces").status_code == 401


def test_the_workspace_page_offers_config_json_and_the_scripts_page(client, workspace):
    page = client.get(f"/workspaces/{workspace.name}/datastores/").content.decode()
    assert "Download config.json" in page
    config = client.get(f"/workspaces/{workspace.name}/config.json").json()
    assert config == {
        "subscription_id": settings.STUDIO_SUBSCRIPTION_ID,
        "resource_group": settings.STUDIO_RESOURCE_GROUP,
        "workspace_name": workspace.name,
    }
    scripts = client.get(f"/workspaces/{workspace.name}/scripts/").content.decode()
    assert "cloud_metadata" in scripts and "http://testserver/api/identity/token" in scripts
    detail = client.get(f"/workspaces/{workspace.name}/datastores/workspaceblobstore/").content.decode()
    assert "azureml.core" not in detail and "MLClient.from_config" in detail and "/credentials" in detail


def test_an_expired_access_token_is_refused(user, anonymous_client, settings):
    raw = token_for(user)
    settings.API_ACCESS_TOKEN_MINUTES = -1  # issued already expired
    issued = anonymous_client.get("/api/identity/token?resource=x", headers={"X-IDENTITY-HEADER": raw}).json()
    access_token = remember_secret(issued["access_token"])
    assert ApiClient(access_token).get("workspaces").status_code == 401
