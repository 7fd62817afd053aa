"""Every role against every route of /api/v1/ (with a token of each person, and a read-only token
of the owner), checked in the database and in storage itself, as tests/test_roles.py does for the
pages: a reader's token cannot register, upload, delete or get a writing credential."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest

from datastores.audit import AuditAction
from datastores.models import AuditEntry, Role

from .api_support import ApiClient, token_for
from .teams import ORDER, ROLE_OF, Team, state

pytestmark = pytest.mark.django_db


@dataclass(frozen=True)
class Case:
    name: str
    need: Role
    send: Callable[[str, ApiClient], object]  # (workspace name, client) -> response
    changes: bool = True

    def __post_init__(self) -> None:
        if self.need == Role.READER:
            object.__setattr__(self, "changes", False)


def ds(rest: str = "") -> str:
    return "workspaces/{ws}/datastores" + rest


def get(url: str, **query) -> Callable:
    return lambda ws, api: api.get(url.format(ws=ws), data=query)


def send(method: str, url: str, body: dict | None = None) -> Callable:
    return lambda ws, api: getattr(api, method)(url.format(ws=ws), json=body)


CASES = [
    Case("see the workspace", Role.READER, get("workspaces/{ws}")),
    Case("list datastores", Role.READER, get(ds())),
    Case("get a datastore", Role.READER, get(ds("/workspaceblobstore"))),
    Case("get the default", Role.READER, get("workspaces/{ws}/default-datastore")),
    Case("list a folder", Role.READER, get(ds("/workspaceblobstore/folder"), path="data")),
    Case("stat a file", Role.READER, get(ds("/workspaceblobstore/stat/data/a.txt"))),
    Case("download a file", Role.READER, get(ds("/workspaceblobstore/files/data/a.txt"))),
    Case("download a zip", Role.READER, get(ds("/workspaceblobstore/zip"), path="data")),
    Case("list tables", Role.READER, get(ds("/sales/tables"))),
    Case("read rows", Role.READER, get(ds("/sales/tables/public/orders/rows"))),
    Case("run a query", Role.READER, send("post", ds("/sales/query"), {"statement": "SELECT 1"})),
    Case("read the audit log", Role.READER, get("workspaces/{ws}/audit")),
    Case("get a reading credential", Role.READER, send("post", ds("/workspaceblobstore/credentials"), {})),
    Case(
        "register a datastore",
        Role.CONTRIBUTOR,
        send("post", ds(), {"name": "fresh", "storage_type": "DBFS", "auth_type": "none"}),
    ),
    Case(
        "update authentication",
        Role.CONTRIBUTOR,
        send(
            "put",
            ds("/local/authentication"),
            {"storage_type": "DBFS", "auth_type": "none", "workspace_url": "https://adb-1.azuredatabricks.net"},
        ),
    ),
    Case("set the default", Role.CONTRIBUTOR, send("put", "workspaces/{ws}/default-datastore", {"name": "local"})),
    Case("test a connection", Role.CONTRIBUTOR, send("post", ds("/workspaceblobstore/test-connection")), changes=False),
    Case(
        "upload a file",
        Role.CONTRIBUTOR,
        lambda ws, api: api.client.put(
            f"/api/v1/workspaces/{ws}/datastores/workspaceblobstore/files/data/new.txt",
            b"new",
            content_type="text/plain",
            headers=api.headers,
        ),
    ),
    Case("delete a file", Role.CONTRIBUTOR, send("delete", ds("/workspaceblobstore/files/data/a.txt"))),
    Case("create a folder", Role.CONTRIBUTOR, send("post", ds("/share/folders"), {"parent": "", "name": "made"})),
    Case(
        "get a writing credential",
        Role.CONTRIBUTOR,
        send("post", ds("/workspaceblobstore/credentials"), {"write": True}),
        changes=False,
    ),
    Case("unregister a datastore", Role.OWNER, send("delete", ds("/local"))),
    Case("list members", Role.OWNER, get("workspaces/{ws}/members"), changes=False),
    Case("add a member", Role.OWNER, send("post", "workspaces/{ws}/members", {"who": "otto", "role": "reader"})),
    Case("change a member's role", Role.OWNER, send("patch", "workspaces/{ws}/members/rita", {"role": "owner"})),
    Case("remove a member", Role.OWNER, send("delete", "workspaces/{ws}/members/rita")),
]


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
@pytest.mark.parametrize("who", ["olive", "carl", "rita", "otto", "admin", "olive-read-only"])
def test_each_tokens_role_may_do_what_it_allows_and_nothing_else(team: Team, blob_service, who, case):
    person, _, read_only = who.partition("-")
    api = ApiClient(token_for(team.people[person], read_only=bool(read_only)))
    before = state(team, blob_service)
    response = case.send(team.workspace.name, api)
    role = Role.READER if read_only else ROLE_OF.get(person)
    if role is None:
        assert response.status_code == 404, "an outsider must not learn that the workspace exists"
        assert state(team, blob_service) == before
    elif ORDER.index(role) < ORDER.index(case.need):
        assert response.status_code == 403, response.content[:300]
        assert f"This needs the {case.need.label} role" in response.json()["detail"]
        assert state(team, blob_service) == before
        assert AuditEntry.objects.filter(
            workspace=team.workspace, actor_name=person, action=AuditAction.ACCESS_REFUSED, outcome="refused"
        ).exists()
    else:
        assert response.status_code in (200, 201, 204), getattr(response, "content", b"")[:500]
        if case.changes:
            assert state(team, blob_service) != before


def test_an_outsiders_token_gets_the_same_answer_as_for_a_workspace_that_does_not_exist(team: Team):
    api = ApiClient(token_for(team.people["otto"]))
    hidden = api.get(f"workspaces/{team.workspace.name}/datastores")
    missing = api.get("workspaces/no-such-workspace/datastores")
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json()["detail"] == missing.json()["detail"]
