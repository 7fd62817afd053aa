"""Workspace roles, every role against every action of the pages, checked in the database
and in storage itself (Azurite through the SDK, the Azure Files stand-in, PostgreSQL with psycopg).

An outsider gets the same 404 as for a workspace that does not exist; a member whose role is
too low gets 403 naming the role needed; both change nothing. Administrators act as owners.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.test import Client
from django.urls import reverse

from datastores.access import Actor
from datastores.audit import AuditAction
from datastores.models import AuditEntry, Membership, Role
from datastores.services import workspace_create

from .teams import ORDER, ROLE_OF, Team, state

pytestmark = pytest.mark.django_db


# --- what each action is, what it needs, and how to see that it happened ----------------------


@dataclass(frozen=True)
class Case:
    name: str
    need: Role
    send: Callable[[Team, Client], object]
    changes: bool = True  # an allowed action changes the database or storage

    def __post_init__(self) -> None:
        if self.need == Role.READER:
            object.__setattr__(self, "changes", False)


def get(name: str, *args: str, query: str = "") -> Callable[[Team, Client], object]:
    return lambda team, client: client.get(team.url(name, *args) + query)


def post(name: str, *args: str, data: dict | None = None) -> Callable[[Team, Client], object]:
    return lambda team, client: client.post(team.url(name, *args), data or {})


CASES = [
    Case("list datastores", Role.READER, get("datastore_list")),
    Case("see a datastore's properties", Role.READER, get("datastore_detail", "workspaceblobstore")),
    Case("browse a folder", Role.READER, get("datastore_browse", "workspaceblobstore", query="?path=data&listing=1")),
    Case("download a file", Role.READER, get("datastore_file", "workspaceblobstore", "data/a.txt")),
    Case(
        "download a folder as zip", Role.READER, get("datastore_folder_zip", "workspaceblobstore", query="?path=data")
    ),
    Case("preview a file", Role.READER, get("datastore_preview", "workspaceblobstore", query="?path=data/a.txt")),
    Case(
        "download ticked files as zip",
        Role.READER,
        post("datastore_selection_zip", "workspaceblobstore", data={"path": ["data/a.txt"]}),
    ),
    Case("list tables", Role.READER, get("datastore_tables", "sales", query="?listing=1")),
    Case("preview a table", Role.READER, get("datastore_table", "sales", "public", "orders")),
    Case("download a table as CSV", Role.READER, get("datastore_table_csv", "sales", "public", "orders")),
    Case("run a query", Role.READER, post("datastore_query", "sales", data={"sql": "SELECT 1", "row_limit": "100"})),
    Case("see the activity", Role.READER, get("workspace_activity")),
    Case(
        "register a datastore",
        Role.CONTRIBUTOR,
        post("datastore_new", data={"name": "fresh", "storage_type": "DBFS", "auth_type": "none"}),
    ),
    Case(
        "update authentication",
        Role.CONTRIBUTOR,
        post(
            "datastore_edit_auth",
            "local",
            data={"auth_type": "none", "workspace_url": "https://adb-1.azuredatabricks.net"},
        ),
    ),
    Case("set the default", Role.CONTRIBUTOR, post("datastore_set_default", "local")),
    Case(
        "test the connection", Role.CONTRIBUTOR, post("datastore_test_connection", "workspaceblobstore"), changes=False
    ),
    Case(
        "upload a file",
        Role.CONTRIBUTOR,
        lambda team, client: client.put(
            team.url("datastore_file", "workspaceblobstore", "data/new.txt"), b"new bytes", content_type="text/plain"
        ),
    ),
    Case(
        "delete a file",
        Role.CONTRIBUTOR,
        post("datastore_delete_file", "workspaceblobstore", data={"path": "data/a.txt"}),
    ),
    Case(
        "rename or move a file",
        Role.CONTRIBUTOR,
        post("datastore_move", "workspaceblobstore", data={"path": "data/a.txt", "destination": "data/renamed.txt"}),
    ),
    Case(
        "delete a folder",
        Role.CONTRIBUTOR,
        post("datastore_delete_folder", "workspaceblobstore", data={"path": "data"}),
    ),
    Case(
        "create a folder",
        Role.CONTRIBUTOR,
        post("datastore_new_folder", "share", data={"path": "", "folder_name": "made"}),
    ),
    Case("unregister a datastore", Role.OWNER, post("datastore_unregister", "local")),
    Case("see the members", Role.OWNER, get("workspace_members"), changes=False),
    Case("add a member", Role.OWNER, post("workspace_members", data={"who": "otto", "role": "reader"})),
    Case("change a member's role", Role.OWNER, post("workspace_member_role", "rita", data={f"{0}-role": "owner"})),
    Case("remove a member", Role.OWNER, post("workspace_member_remove", "rita")),
]


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
@pytest.mark.parametrize("who", ["olive", "carl", "rita", "otto", "admin"])
def test_each_role_may_do_what_it_allows_and_nothing_else(team, blob_service, who, case):
    if case.name == "change a member's role":  # the form's prefix is the membership's id
        membership = Membership.objects.get(workspace=team.workspace, user__username="rita")
        case = Case(
            case.name, case.need, post("workspace_member_role", "rita", data={f"{membership.pk}-role": "owner"})
        )
    before = state(team, blob_service)
    response = case.send(team, team.client(who))
    role = ROLE_OF.get(who)
    if role is None:
        assert response.status_code == 404, "an outsider must not learn that the workspace exists"
        assert state(team, blob_service) == before
    elif ORDER.index(role) < ORDER.index(case.need):
        assert response.status_code == 403
        body = b"".join(response.streaming_content) if response.streaming else response.content
        assert f"This needs the {case.need.label} role".encode() in body
        assert state(team, blob_service) == before
        assert AuditEntry.objects.filter(
            workspace=team.workspace, actor_name=who, action=AuditAction.ACCESS_REFUSED, outcome="refused"
        ).exists()
    else:
        assert response.status_code in (200, 302), response.content[:500]
        if case.changes:
            assert state(team, blob_service) != before


def test_an_outsider_gets_the_same_answer_as_for_a_workspace_that_does_not_exist(team):
    outsider = team.client("otto")
    hidden = outsider.get(team.url("datastore_list"))
    missing = outsider.get(reverse("datastore_list", args=["no-such-workspace"]))
    assert hidden.status_code == missing.status_code == 404
    assert hidden.content == missing.content


def test_the_workspace_list_shows_only_the_users_workspaces(team, django_user_model):
    other = workspace_create(actor=Actor(user=team.people["otto"]), name=f"otto-{uuid.uuid4().hex[:6]}")
    page = team.client("rita").get(reverse("workspace_list")).content.decode()
    assert team.workspace.name in page and other.name not in page
    assert other.name in team.client("admin").get(reverse("workspace_list")).content.decode()


def test_a_reader_sees_no_controls_that_change_anything(team):
    reader = team.client("rita")
    listing = reader.get(team.url("datastore_list")).content.decode()
    assert "New datastore" not in listing and ">Members<" not in listing
    detail = reader.get(team.url("datastore_detail", "workspaceblobstore")).content.decode()
    for control in ("Set as default", "Update authentication", "Unregister", "Test connection"):
        assert control not in detail, control
    browse = reader.get(team.url("datastore_browse", "workspaceblobstore") + "?path=data&listing=1").content.decode()
    assert "a.txt" in browse and "Download" in browse
    for control in ("Upload files", "Delete", "data-upload", "Rename", "New folder"):
        assert control not in browse, control


def test_a_contributor_sees_changes_but_not_members_or_unregister(team):
    contributor = team.client("carl")
    detail = contributor.get(team.url("datastore_detail", "local")).content.decode()
    assert "Update authentication" in detail and "Set as default" in detail and "Unregister" not in detail
    assert ">Members<" not in contributor.get(team.url("datastore_list")).content.decode()
    assert ">Members<" in team.client("olive").get(team.url("datastore_list")).content.decode()


def test_the_last_owner_can_be_neither_removed_nor_demoted(team):
    owner = team.client("olive")
    membership = Membership.objects.get(workspace=team.workspace, user__username="olive")
    demoted = owner.post(team.url("workspace_member_role", "olive"), {f"{membership.pk}-role": "reader"}, follow=True)
    assert "is the last owner" in demoted.content.decode()
    removed = owner.post(team.url("workspace_member_remove", "olive"), follow=True)
    assert "always keeps at least one owner" in removed.content.decode()
    assert Membership.objects.get(pk=membership.pk).role == Role.OWNER


def test_an_owner_adds_a_member_by_email_and_an_unknown_name_is_refused_on_the_field(team):
    owner = team.client("olive")
    refused = owner.post(team.url("workspace_members"), {"who": "nobody@example.com", "role": "reader"})
    assert refused.status_code == 400
    assert "No single user has the username or email" in refused.content.decode()
    owner.post(team.url("workspace_members"), {"who": "otto@example.com", "role": "contributor"})
    assert Membership.objects.get(workspace=team.workspace, user__username="otto").role == Role.CONTRIBUTOR
    entry = AuditEntry.objects.filter(action=AuditAction.MEMBER_ADDED, target="otto").get()
    assert entry.actor_name == "olive" and entry.detail == "as contributor"


def test_the_members_page_swaps_in_place_with_htmx(team):
    owner = team.client("olive")
    response = owner.post(
        team.url("workspace_members"), {"who": "otto", "role": "reader"}, headers={"HX-Request": "true"}
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert page.lstrip().startswith('<div id="members"') and "<html" not in page
    assert "otto" in page


def test_a_refused_upload_from_a_reader_answers_json_and_writes_nothing(team, blob_service):
    response = team.client("rita").put(
        team.url("datastore_file", "workspaceblobstore", "data/sneaky.txt"), b"x", content_type="text/plain"
    )
    assert response.status_code == 403 and response.json()["outcome"] == "refused"
    assert "sneaky.txt" not in {blob.name for blob in blob_service.get_container_client(team.container).list_blobs()}
