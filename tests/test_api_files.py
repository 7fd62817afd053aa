"""/api/v1/ files and tables: a folder page with its continuation, stat, streamed download with
Range, streamed upload with overwrite, delete, new folder, zip; SQL tables, columns, rows and
read-only queries as JSON and CSV. Checked in Azurite (the SDK), the Azure Files stand-in and
PostgreSQL (psycopg) themselves."""

from __future__ import annotations

import io
import zipfile

import pytest

from datastores.access import Actor
from datastores.services import datastore_register
from datastores.storage import AuthType, backend_for

from .api_support import ApiClient, token_for
from .support import FILESHARE_ACCOUNT, FILESHARE_KEY

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(user) -> ApiClient:
    return ApiClient(token_for(user))


@pytest.fixture
def blob(workspace, blob_service):
    """workspaceblobstore's container, as the SDK sees it."""
    container = workspace.datastores.get(name="workspaceblobstore").connection_settings["container_name"]
    return blob_service.get_container_client(container)


def files_url(workspace, rest: str, datastore: str = "workspaceblobstore") -> str:
    return f"workspaces/{workspace.name}/datastores/{datastore}/{rest}"


def body_of(response) -> bytes:
    return b"".join(response.streaming_content)


def test_a_folder_lists_one_page_at_a_time_with_its_continuation(api, workspace, blob):
    for number in range(5):
        blob.upload_blob(f"data/file{number}.txt", b"x")
    blob.upload_blob("data/sub/inner.txt", b"y")
    seen, continuation = [], None
    while True:
        query = {"path": "data", "page_size": 2, **({"continuation": continuation} if continuation else {})}
        page = api.get(files_url(workspace, "folder"), data=query).json()
        assert len(page["entries"]) <= 2
        seen += [(entry["name"], entry["is_folder"]) for entry in page["entries"]]
        continuation = page["continuation"]
        if not continuation:
            break
    assert sorted(seen) == sorted([("sub", True)] + [(f"file{n}.txt", False) for n in range(5)])


def test_stat_gives_a_files_size_and_a_missing_one_is_404(api, workspace, blob):
    blob.upload_blob("data/a.csv", b"a,b\n1,2\n", overwrite=True)
    stat = api.get(files_url(workspace, "stat/data/a.csv")).json()
    assert stat["size"] == 8 and stat["is_folder"] is False
    missing = api.get(files_url(workspace, "stat/data/nothing.csv"))
    assert missing.status_code == 404 and missing["Content-Type"] == "application/problem+json"


def test_a_download_streams_and_honours_a_range(api, workspace, blob):
    data = bytes(range(256)) * 4096  # 1 MiB
    blob.upload_blob("big.bin", data, overwrite=True)
    whole = api.get(files_url(workspace, "files/big.bin"))
    assert whole.status_code == 200 and whole.streaming and body_of(whole) == data
    part = api.get(files_url(workspace, "files/big.bin"), headers={"Range": "bytes=1000-1999"})
    assert part.status_code == 206 and part["Content-Length"] == "1000" and body_of(part) == data[1000:2000]
    tail = api.get(files_url(workspace, "files/big.bin"), headers={"Range": "bytes=1048000-"})
    assert body_of(tail) == data[1048000:]
    assert api.get(files_url(workspace, "files/big.bin"), headers={"Range": "bytes=-5"}).json()["field"] == "Range"


def test_an_upload_streams_into_storage_and_respects_overwrite(api, workspace, blob):
    url = files_url(workspace, "files/up/load.txt")
    first = api.put(url, data=b"first", content_type="text/plain")
    assert first.status_code == 200 and first.json() == {"outcome": "uploaded", "path": "up/load.txt"}
    assert api.put(url, data=b"second", content_type="text/plain").json()["outcome"] == "skipped"
    assert blob.download_blob("up/load.txt").readall() == b"first"
    assert api.put(url + "?overwrite=true", data=b"second", content_type="text/plain").json()["outcome"] == "uploaded"
    assert blob.download_blob("up/load.txt").readall() == b"second"


def test_a_large_upload_is_not_refused_by_the_body_limit(api, workspace, blob, settings):
    settings.API_MAX_BODY_BYTES = 1024
    data = b"z" * (9 * 1024 * 1024)  # more than one 8 MiB block
    assert (
        api.put(files_url(workspace, "files/large.bin"), data=data, content_type="application/octet-stream").status_code
        == 200
    )
    assert blob.download_blob("large.bin").readall() == data


def test_delete_and_zip(api, workspace, blob):
    blob.upload_blob("zip/a.txt", b"alpha")
    blob.upload_blob("zip/b/c.txt", b"gamma")
    archive = zipfile.ZipFile(io.BytesIO(body_of(api.get(files_url(workspace, "zip"), data={"path": "zip"}))))
    assert sorted(archive.namelist()) == ["a.txt", "b/c.txt"] and archive.read("b/c.txt") == b"gamma"
    assert api.delete(files_url(workspace, "files/zip/a.txt")).json() == {"path": "zip/a.txt"}
    assert not blob.get_blob_client("zip/a.txt").exists()
    assert api.delete(files_url(workspace, "files/zip/a.txt")).status_code == 404


def test_folders_are_created_where_they_are_real(api, workspace, fileshare_standin, share_name, user):
    datastore_register(
        workspace=workspace,
        name="share",
        storage_type="AzureFile",
        auth_type=AuthType.ACCOUNT_KEY,
        actor=Actor(user=user),
        values=backend_for("AzureFile").clean_values(
            AuthType.ACCOUNT_KEY,
            {
                "account_name": FILESHARE_ACCOUNT,
                "file_share_name": share_name,
                "protocol": "http",
                "endpoint": fileshare_standin.base_url.removeprefix("http://"),
                "account_key": FILESHARE_KEY,
            },
        ),
    )
    made = api.post(files_url(workspace, "folders", "share"), json={"parent": "", "name": "made"})
    assert made.status_code == 201 and made.json() == {"path": "made"}
    assert fileshare_standin.lookup(share_name, ["made"])[2] is not None
    on_blob = api.post(files_url(workspace, "folders"), json={"parent": "", "name": "made"})
    assert on_blob.status_code == 404  # blob folders exist only through their files


def test_a_path_that_leaves_the_datastore_is_refused(api, workspace):
    response = api.get(files_url(workspace, "files/../escape.txt"))
    assert response.status_code in (400, 404)


@pytest.fixture
def sales(workspace, pg, user):
    datastore_register(
        workspace=workspace,
        name="sales",
        storage_type="AzurePostgreSql",
        auth_type=AuthType.SQL_AUTHENTICATION,
        actor=Actor(user=user),
        values=backend_for("AzurePostgreSql").clean_values(AuthType.SQL_AUTHENTICATION, pg.form()),
    )
    return pg


def test_tables_columns_rows_and_csv(api, workspace, sales):
    listing = api.get(files_url(workspace, "tables", "sales")).json()
    public = next(schema for schema in listing["schemas"] if schema["name"] == "public")
    assert "orders" in [table["name"] for table in public["tables"]]
    columns = api.get(files_url(workspace, "tables/public/orders/columns", "sales")).json()
    assert columns and all({"name", "type", "nullable"} <= set(column) for column in columns)
    rows = api.get(files_url(workspace, "tables/public/orders/rows", "sales"), data={"page_size": 2}).json()
    assert len(rows["rows"]) <= 2 and rows["page"] == 1
    csv_text = body_of(api.get(files_url(workspace, "tables/public/orders/csv", "sales"))).decode()
    assert csv_text.count("\n") == sales.count("orders") + 1
    assert api.get(files_url(workspace, "tables", "workspaceblobstore")).status_code == 404


def test_a_query_runs_read_only_as_json_or_csv(api, workspace, sales):
    url = files_url(workspace, "query", "sales")
    result = api.post(url, json={"statement": "SELECT 1 AS one, 'two' AS two"}).json()
    assert result["columns"] == ["one", "two"] and result["rows"] == [[1, "two"]]
    csv_answer = api.post(url, json={"statement": "SELECT 1 AS one", "format": "csv"})
    assert body_of(csv_answer).decode().splitlines() == ["one", "1"]
    before = sales.count("orders")
    refused = api.post(url, json={"statement": "DELETE FROM orders"})
    assert refused.status_code == 400 and "read-only" in refused.json()["detail"]
    assert sales.count("orders") == before
