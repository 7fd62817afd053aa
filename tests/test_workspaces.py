"""Workspaces, their two automatic datastores, the default-datastore rule and access."""

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse

from datastores.models import Datastore, Workspace

from .pages import field_block

pytestmark = pytest.mark.django_db


def test_a_new_workspace_gets_workspaceblobstore_as_default_and_workspacefilestore(workspace, blob_service):
    stores = {datastore.name: datastore for datastore in workspace.datastores.all()}
    assert set(stores) == {"workspaceblobstore", "workspacefilestore"}
    assert stores["workspaceblobstore"].is_default and not stores["workspacefilestore"].is_default
    assert stores["workspaceblobstore"].storage_type == "AzureBlob"
    assert stores["workspacefilestore"].storage_type == "AzureFile"
    container = stores["workspaceblobstore"].connection_settings["container_name"]
    assert blob_service.get_container_client(container).exists()  # created in Azurite for real


def test_workspacefilestore_says_why_it_was_registered_without_a_check(client, workspace):
    """The test connection string, like the local Azurite's, names a BlobEndpoint and no FileEndpoint."""
    response = client.get(reverse("datastore_detail", args=[workspace.name, "workspacefilestore"]))
    assert "names no File endpoint" in response.content.decode()
    assert Datastore.objects.get(workspace=workspace, name="workspacefilestore").last_check_ok is None


def test_creating_a_workspace_from_the_page_registers_both_stores(client, azurite_url):
    response = client.post(reverse("workspace_list"), {"name": "research", "description": "Team data"}, follow=True)
    assert response.status_code == 200
    page = response.content.decode()
    assert "workspaceblobstore" in page and "workspacefilestore" in page
    assert Workspace.objects.get(name="research").datastores.get(is_default=True).name == "workspaceblobstore"


def test_a_bad_workspace_name_is_refused_with_a_message(client):
    response = client.post(reverse("workspace_list"), {"name": "-no good-"})
    assert "A workspace name has 3 to 33 letters" in response.content.decode()
    assert not Workspace.objects.exists()


def test_the_database_allows_only_one_default_datastore_per_workspace(workspace):
    filestore = workspace.datastores.get(name="workspacefilestore")
    filestore.is_default = True
    with pytest.raises(IntegrityError), transaction.atomic():
        filestore.save()


def test_a_storage_type_that_is_not_registered_is_refused_on_save(workspace):
    datastore = Datastore(workspace=workspace, name="odd", storage_type="FloppyDisk", auth_type="none")
    with pytest.raises(ValidationError) as refused:
        datastore.full_clean()
    assert "storage_type" in refused.value.message_dict


def test_a_stored_datastore_whose_type_was_removed_says_so_instead_of_failing(client, workspace):
    """A row saved before its storage type was uninstalled: its pages answer, never a 500."""
    Datastore.objects.filter(workspace=workspace, name="workspacefilestore").update(storage_type="FloppyDisk")
    response = client.get(reverse("datastore_browse", args=[workspace.name, "workspacefilestore"]))
    assert response.status_code == 409
    assert "The storage type &#x27;FloppyDisk&#x27; is not installed in this studio." in response.content.decode()


@pytest.mark.parametrize(
    "bad_name, message",
    [
        ("1starts_with_digit", "letters, digits and underscores only, and starts with a letter"),
        ("has-hyphen", "letters, digits and underscores only"),
        ("has space", "letters, digits and underscores only"),
        ("_underscore_first", "starts with a letter"),
        ("", "This field is required."),
    ],
)
def test_datastore_names_follow_azure_ml_rules(client, workspace, bad_name, message):
    response = client.post(
        reverse("datastore_new", args=[workspace.name]),
        {"name": bad_name, "storage_type": "DBFS", "auth_type": "none"},
    )
    assert response.status_code == 200
    assert not workspace.datastores.filter(name=bad_name).exists()
    assert message in field_block(response.content.decode(), "name")


@pytest.mark.parametrize(
    "url_name, args",
    [
        ("home", []),
        ("workspace_list", []),
        ("datastore_list", ["any"]),
        ("datastore_new", ["any"]),
        ("datastore_detail", ["any", "store"]),
    ],
)
def test_every_page_needs_a_login(anonymous_client, url_name, args):
    url = reverse(url_name, args=args)
    response = anonymous_client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_healthz_answers_without_a_login(anonymous_client):
    response = anonymous_client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_the_demo_bootstrap_prints_the_login_and_is_idempotent(azurite_url, monkeypatch, capsys):
    from django.core.management import call_command

    monkeypatch.setenv("DEMO_ADMIN_PASSWORD", "demo-pass-1234")
    call_command("bootstrap_demo")
    call_command("bootstrap_demo")
    assert "Sign in as admin / demo-pass-1234" in capsys.readouterr().out
    assert Workspace.objects.filter(name="demo").count() == 1
    assert Workspace.objects.get(name="demo").datastores.count() == 2
