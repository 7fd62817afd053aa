"""Personal access tokens: the Tokens page, what a token may do, and how a refused one is answered."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from datastores.access import Actor
from datastores.models import AccessToken, AuditAction, AuditEntry, Role
from datastores.services import member_add, token_revoke, workspace_create

from .api_support import ApiClient, token_for
from .support import remember_secret

pytestmark = pytest.mark.django_db


def test_the_tokens_page_shows_a_new_token_once_and_stores_only_its_hash(client, user, workspace):
    response = client.post("/tokens/", {"name": "nightly job", "expires_in_days": "7", "read_only": "on"})
    assert response.status_code == 200
    shown = re.search(r'value="(dsp_[A-Za-z0-9_-]+)"', response.content.decode())
    assert shown, "the page shows the new token"
    raw = remember_secret(shown.group(1))
    client.bodies.pop()  # the one response that shows it
    stored = AccessToken.objects.get(user=user)
    assert stored.digest != raw and raw not in str(list(AccessToken.objects.values_list()))
    assert stored.read_only and stored.expires_at - timezone.now() <= timedelta(days=7)
    assert raw not in client.get("/tokens/").content.decode()  # never shown again
    assert ApiClient(raw).get("workspaces").status_code == 200
    page = client.get("/tokens/").content.decode()
    assert "nightly job" in page and stored.prefix in page and "Never" not in page  # last use shown
    assert AuditEntry.objects.filter(action=AuditAction.TOKEN_CREATED, actor=user).exists()


def test_a_token_expiry_over_the_limit_is_refused_on_its_field(client):
    with override_settings(API_TOKEN_MAX_DAYS=10):
        response = client.post("/tokens/", {"name": "long", "expires_in_days": "11"})
    assert response.status_code == 400
    assert "less than or equal to 10" in response.content.decode()
    assert not AccessToken.objects.exists()


def test_a_revoked_token_stops_working(client, user):
    raw = token_for(user)
    assert ApiClient(raw).get("workspaces").status_code == 200
    token = AccessToken.objects.get(user=user)
    assert client.post(f"/tokens/{token.pk}/revoke/").status_code == 302
    assert ApiClient(raw).get("workspaces").status_code == 401


def test_missing_malformed_unknown_expired_and_revoked_tokens_get_the_same_401(user, anonymous_client):
    revoked, expired = token_for(user), token_for(user, name="old")
    token_revoke(actor=Actor(user=user), token=AccessToken.objects.get(name="test"))
    AccessToken.objects.filter(name="old").update(expires_at=timezone.now() - timedelta(seconds=1))
    answers = [
        anonymous_client.get("/api/v1/workspaces"),
        anonymous_client.get("/api/v1/workspaces", headers={"Authorization": "Bearer"}),
        anonymous_client.get("/api/v1/workspaces", headers={"Authorization": "Basic dXNlcjpwYXNz"}),
        ApiClient("dsp_not-a-real-token").get("workspaces"),
        ApiClient("dsa_forged.signature").get("workspaces"),
        ApiClient(revoked).get("workspaces"),
        ApiClient(expired).get("workspaces"),
    ]
    assert {answer.status_code for answer in answers} == {401}
    assert {answer["WWW-Authenticate"] for answer in answers} == {'Bearer realm="Datastore Studio"'}
    assert {answer["Content-Type"] for answer in answers} == {"application/problem+json"}
    bodies = {answer.content for answer in answers}
    assert len(bodies) == 1, "the body gives no hint of why the token was refused"


def test_a_session_cookie_is_not_a_token(client):
    assert client.get("/api/v1/workspaces").status_code == 401


def test_a_read_only_token_acts_as_a_reader(user, workspace):
    api = ApiClient(token_for(user, read_only=True))
    assert api.get(f"workspaces/{workspace.name}").json()["role"] == "reader"
    refused = api.put(f"workspaces/{workspace.name}/default-datastore", json={"name": "workspacefilestore"})
    assert refused.status_code == 403
    assert "needs the Contributor role" in refused.json()["detail"]
    assert workspace.datastores.get(is_default=True).name == "workspaceblobstore"


def test_a_token_never_acts_with_more_than_its_users_role(django_user_model, workspace, user):
    rita = django_user_model.objects.create_user(username="rita")
    member_add(actor=Actor(user=user), workspace=workspace, who="rita", role=Role.READER)
    api = ApiClient(token_for(rita))
    assert api.get(f"workspaces/{workspace.name}").json()["role"] == "reader"
    assert api.delete(f"workspaces/{workspace.name}/datastores/workspacefilestore").status_code == 403


def test_a_token_limited_to_a_workspace_sees_no_other(user, workspace):
    other = workspace_create(actor=Actor(user=user), name=f"{workspace.name}-b")
    api = ApiClient(token_for(user, workspaces=(workspace,)))
    assert [item["name"] for item in api.get("workspaces").json()["items"]] == [workspace.name]
    assert api.get(f"workspaces/{other.name}").status_code == 404
    assert api.post("workspaces", json={"name": "made-by-token"}).status_code == 403


def test_a_limited_token_whose_workspace_is_deleted_reaches_nothing(user, workspace):
    api = ApiClient(token_for(user, workspaces=(workspace,)))
    workspace.delete()
    workspace_create(actor=Actor(user=user), name="survivor")
    assert api.get("workspaces").json()["items"] == []


def test_token_use_is_rate_limited(user):
    api = ApiClient(token_for(user))
    with override_settings(API_RATE_LIMIT="3/m"):
        codes = [api.get("workspaces").status_code for _ in range(5)]
    assert codes == [200, 200, 200, 429, 429]


def test_refused_tokens_are_rate_limited_per_client_address(anonymous_client):
    with override_settings(API_REFUSED_RATE_LIMIT="2/m"):
        codes = [ApiClient("dsp_guess").get("workspaces", REMOTE_ADDR="10.9.8.7").status_code for _ in range(4)]
    assert codes == [401, 401, 429, 429]


def test_token_use_appears_in_the_audit_log(user, workspace):
    api = ApiClient(token_for(user, name="etl"))
    api.put(f"workspaces/{workspace.name}/default-datastore", json={"name": "workspacefilestore"})
    entry = AuditEntry.objects.get(action=AuditAction.DEFAULT_SET, datastore_name="workspacefilestore")
    assert entry.via.startswith("token dsp_") and entry.via.endswith("(etl)")
    assert AuditEntry.objects.filter(action=AuditAction.TOKEN_USED, actor=user).count() == 1
