"""The datastore list: 25 a page, filtered by name, storage type and health in the database, the
table swapped by htmx on a filter or page change and the same through plain GETs without it, at a
number of queries that does not grow with the workspace."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from html import unescape

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from datastores.models import Datastore

from .fill import fill_datastores as fill
from .pages import links, tied_labels

HTMX = {"HX-Request": "true", "HX-Target": "datastore-table"}


def listed(page: str) -> list[str]:
    """The datastore names in the table, in order."""
    return re.findall(r'<td data-label="Name"><a href="[^"]*">([^<]+)</a>', page)


def list_url(workspace) -> str:
    return reverse("datastore_list", args=[workspace.name])


def get(client, workspace, query=None, **extra) -> str:
    response = client.get(list_url(workspace), query or {}, **extra)
    assert response.status_code == 200
    return unescape(response.content.decode())


def test_the_list_shows_25_a_page_with_links_to_the_next_and_previous(client, workspace):
    fill(workspace, 58)  # 60 in all with workspaceblobstore and workspacefilestore

    first = get(client, workspace)
    assert len(listed(first)) == 25 and listed(first)[0] == "store00000"
    assert "1–25 of 60 datastores · page 1 of 3" in first
    assert links(first, "Next page") == ["?page=2"] and links(first, "Previous page") == []

    last = get(client, workspace, {"page": "3"})
    assert listed(last) == [
        "store00050",
        *[f"store000{n}" for n in range(51, 58)],
        "workspaceblobstore",
        "workspacefilestore",
    ]
    assert "51–60 of 60 datastores · page 3 of 3" in last
    assert links(last, "Previous page") == ["?page=2"] and links(last, "Next page") == []


def test_the_default_marker_and_the_health_badges_stay(client, workspace):
    fill(workspace, 1, last_check_ok=False)
    page = get(client, workspace)
    row = page[page.index(">workspaceblobstore</a>") : page.index("</tr>", page.index(">workspaceblobstore</a>"))]
    assert "Default" in row and "Azure Blob Storage" in row and "Account key" in row
    failed = page[page.index(">store00000</a>") : page.index("</tr>", page.index(">store00000</a>"))]
    assert "Failed" in failed and "Default" not in failed


def test_the_last_check_and_the_creation_show_to_the_minute_in_utc(client, workspace):
    fill(workspace, 1, last_check_ok=True, last_checked_at=datetime(2026, 11, 30, 10, 5, 59, tzinfo=UTC))
    fill(workspace, 1, last_check_ok=False, last_checked_at=datetime(2026, 12, 1, 23, 59, 1, tzinfo=UTC))
    workspace.datastores.filter(name="store00000").update(created_at=datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC))
    page = get(client, workspace)

    def row(name: str) -> str:
        start = page.index(f">{name}</a>")
        return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page[start : page.index("</tr>", start)])).strip()

    assert row("store00000").endswith("Passed 2026-11-30 10:05 UTC 2025-01-02 03:04")
    assert "Failed 2026-12-01 23:59 UTC" in row("store00001")


def test_a_page_number_out_of_range_or_not_a_number_shows_a_real_page(client, workspace):
    fill(workspace, 30)
    assert "26–32 of 32" in get(client, workspace, {"page": "999999999999999999999"})
    assert "1–25 of 32" in get(client, workspace, {"page": "-1%00'"})


def test_every_filter_has_a_visible_label(client, workspace):
    assert tied_labels(get(client, workspace))[:3] == ["Name contains", "Storage type", "Health"]


def test_the_filters_narrow_the_list_by_name_storage_type_and_health(client, workspace):
    fill(workspace, 3, last_check_ok=True)
    fill(workspace, 2)  # never checked

    assert listed(get(client, workspace, {"name": "FILE"})) == ["workspacefilestore"]
    assert listed(get(client, workspace, {"storage_type": "AzureFile"})) == ["workspacefilestore"]
    assert listed(get(client, workspace, {"health": "passed"})) == [
        "store00000",
        "store00001",
        "store00002",
        "workspaceblobstore",
    ]
    assert listed(get(client, workspace, {"health": "unchecked", "name": "store0"})) == ["store00003", "store00004"]
    assert listed(get(client, workspace, {"health": "passed", "storage_type": "AzureFile"})) == []


def test_page_links_keep_the_filters(client, workspace):
    fill(workspace, 40, last_check_ok=True)
    page = get(client, workspace, {"name": "store0", "health": "passed"})
    assert "1–25 of 40 datastores" in page
    assert links(page, "Next page") == ["?name=store0&health=passed&page=2"]
    second = get(client, workspace, {"name": "store0", "health": "passed", "page": "2"})
    assert links(second, "Previous page") == ["?name=store0&health=passed&page=1"]
    assert 'value="store0"' in second and '<option value="passed" selected>' in second


def test_a_filter_change_through_htmx_swaps_the_table_alone(client, workspace):
    fill(workspace, 30)
    table = get(client, workspace, {"name": "store0002"}, headers=HTMX)
    assert "<html" not in table and 'id="datastore-filter"' not in table
    assert table.lstrip().startswith('<div id="datastore-table">')
    assert listed(table) == [f"store0002{n}" for n in range(10)]


def test_a_page_link_through_htmx_swaps_the_table_and_pushes_its_address(client, workspace):
    fill(workspace, 30)
    page = get(client, workspace)
    link = re.search(
        r'<a class="button" rel="next" href="([^"]+)"\s+hx-get="([^"]+)" hx-target="#datastore-table"', page
    )
    assert link and link.group(2) == list_url(workspace) + link.group(1) and 'hx-push-url="true"' in page
    table = get(client, workspace, {"page": "2"}, headers=HTMX)
    assert "<html" not in table and listed(table)[0] == "store00025"


def test_without_javascript_the_filter_is_a_plain_get_form_with_a_button(client, workspace):
    page = get(client, workspace)
    form = page[
        page.index('<form id="datastore-filter"') : page.index("</form>", page.index('<form id="datastore-filter"'))
    ]
    assert 'method="get"' in form and '<button type="submit">Filter</button>' in form
    assert 'name="name"' in form and 'name="storage_type"' in form and 'name="health"' in form
    full = get(client, workspace, {"name": "blob"})
    assert "<html" in full and listed(full) == ["workspaceblobstore"]


def test_an_empty_result_says_so_and_offers_to_clear_the_filters(client, workspace):
    page = get(client, workspace, {"name": "nothing-like-this"})
    assert listed(page) == [] and "No datastore matches these filters." in page
    assert links(page, "Clear filters") == [list_url(workspace)]


@pytest.mark.parametrize("name", ["%", "_", "%%", "store_0", "\\", "'; DROP TABLE datastores_datastore; --"])
def test_like_wildcards_and_quotes_in_the_name_filter_match_only_themselves(client, workspace, name):
    fill(workspace, 3)
    page = get(client, workspace, {"name": name})
    assert listed(page) == [] and "No datastore matches these filters." in page
    assert Datastore.objects.filter(workspace=workspace).count() == 5


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ({"name": "x" * 256}, "Name contains", "Ensure this value has at most 255 characters (it has 256)."),
        ({"name": "a\x00b"}, "Name contains", "Null characters are not allowed."),
        ({"storage_type": "Nope"}, "Storage type", "Choose one of the storage types listed."),
        ({"health": "x" * 5000}, "Health", "Choose Passed, Failed or Not checked yet."),
    ],
)
def test_a_hostile_filter_value_gets_a_clear_message_and_no_list(client, workspace, query, field, message):
    for headers in ({}, HTMX):
        page = get(client, workspace, query, headers=headers)
        assert f"These filters cannot be used: {field}: {message}" in page
        assert listed(page) == [] and links(page, "Clear filters") == [list_url(workspace)]
    on_the_field = re.search(
        rf'<span class="filter-field field-invalid"><label for="[^"]+">{field}</label>'
        r'.*?<span class="error">([^<]*)</span>',
        get(client, workspace, query),
        re.S,
    )
    assert on_the_field and on_the_field.group(1) == message


@pytest.mark.parametrize("headers", [{}, HTMX], ids=["page", "htmx"])
def test_the_number_of_queries_does_not_grow_with_the_datastores(client, workspace, django_assert_num_queries, headers):
    """The first page, a later one and a filtered one each take as many queries at 300 datastores as at 10."""
    pages = [{}, {"page": "6"}, {"name": "store0", "health": "passed"}]
    fill(workspace, 8, last_check_ok=True)
    client.get(list_url(workspace))  # the session remembers the workspace
    at_10 = []
    for query in pages:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(list_url(workspace), query, headers=headers).status_code == 200
        at_10.append(len(captured.captured_queries))

    fill(workspace, 290, last_check_ok=True)
    assert workspace.datastores.count() == 300
    for query, expected in zip(pages, at_10, strict=True):
        with django_assert_num_queries(expected):
            page = get(client, workspace, query, headers=headers)
        assert len(listed(page)) == 25
