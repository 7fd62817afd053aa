"""Thin views of a datastore with tables: its schemas and tables, a table's columns and
rows, the read-only query box, and CSV downloads. Storage errors rise to errors.py; a
query the database refuses is the query box's own answer, shown under the form."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from . import selectors
from .models import Datastore, Workspace
from .sql_display import grid
from .storage.tables import CsvStream, QueryFailed
from .views import HtmxHttpRequest, _datastore

PREVIEW_PAGE_SIZE = 100
MAX_PAGE_SIZE = 500
QUERY_ROW_LIMIT = 1000
ROW_LIMITS = [(100, "100 rows"), (QUERY_ROW_LIMIT, "1,000 rows"), (10_000, "10,000 rows")]


def statement_timeout() -> int:
    return int(settings.STORAGE_TIMEOUT_SECONDS)


class QueryForm(forms.Form):
    sql = forms.CharField(
        label="SQL query",
        max_length=100_000,
        error_messages={"required": "Type a statement to run."},
        widget=forms.Textarea(
            attrs={"rows": 6, "spellcheck": "false", "autocomplete": "off", "class": "mono", "data-submit-shortcut": ""}
        ),
    )
    row_limit = forms.TypedChoiceField(label="Show at most", choices=ROW_LIMITS, coerce=int, initial=QUERY_ROW_LIMIT)

    def __init__(self, *args: Any, timeout: int, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["sql"].help_text = (
            f"One statement, run in a read-only transaction: the database refuses writes. It stops after {timeout} s. "
            "Ctrl+Enter runs it."
        )


def _tables_datastore(request: HtmxHttpRequest, workspace_name: str, name: str) -> tuple[Workspace, Datastore]:
    workspace, datastore = _datastore(request, workspace_name, name)
    if not datastore.backend.capabilities.tables:
        raise Http404("This datastore has no tables.")
    return workspace, datastore


def _queries_datastore(request: HtmxHttpRequest, workspace_name: str, name: str) -> tuple[Workspace, Datastore]:
    workspace, datastore = _tables_datastore(request, workspace_name, name)
    if not datastore.backend.capabilities.queries:
        raise Http404("This datastore has no query box.")
    return workspace, datastore


def _whole_number(raw: str | None, default: int, *, maximum: int | None = None) -> int:
    try:
        value = int(raw or default)
    except ValueError:
        return default
    value = max(1, value)
    return min(value, maximum) if maximum else value


def _csv_response(stream: CsvStream, filename: str) -> StreamingHttpResponse:
    response = StreamingHttpResponse(stream, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = content_disposition_header(as_attachment=True, filename=filename)
    response["Cache-Control"] = "no-store"
    return response


@require_GET
def datastore_tables(request: HtmxHttpRequest, workspace_name: str, name: str) -> HttpResponse:
    """The page renders at once; the schemas and tables, which ask the database, come into
    place through htmx (or, without JavaScript, with ?listing=1)."""
    workspace, datastore = _tables_datastore(request, workspace_name, name)
    context: dict[str, Any] = {"workspace": workspace, "datastore": datastore}
    template = "datastores/sql/tables.html"
    if request.htmx or request.GET.get("listing") == "1":
        context.update(listing=selectors.tables_list(datastore, actor=request.actor), listed=True)
    if request.htmx and request.htmx.target == "tables-listing":
        template += "#listing"
    return render(request, template, context)


@require_GET
def datastore_table(request: HtmxHttpRequest, workspace_name: str, name: str, schema: str, table: str) -> HttpResponse:
    workspace, datastore = _tables_datastore(request, workspace_name, name)
    page = _whole_number(request.GET.get("page"), 1)
    page_size = _whole_number(request.GET.get("page_size"), PREVIEW_PAGE_SIZE, maximum=MAX_PAGE_SIZE)
    rows = selectors.table_preview(datastore, schema, table, actor=request.actor, page=page, page_size=page_size)
    context = {
        "workspace": workspace,
        "datastore": datastore,
        "schema": schema,
        "table": table,
        "starting_query": datastore.backend.table_query(schema, table),
        "rows": rows,
        "grid": grid(rows.column_names, rows.rows),
        "custom_page_size": page_size if page_size != PREVIEW_PAGE_SIZE else None,
    }
    template = "datastores/sql/table.html"
    if request.htmx and request.htmx.target == "rows":
        template += "#rows"
    return render(request, template, context)


@require_GET
def datastore_table_csv(
    request: HtmxHttpRequest, workspace_name: str, name: str, schema: str, table: str
) -> HttpResponseBase:
    _workspace, datastore = _tables_datastore(request, workspace_name, name)
    stream = selectors.table_csv(datastore, schema, table, actor=request.actor)
    return _csv_response(stream, f"{table}.csv")


@require_http_methods(["GET", "POST"])
def datastore_query(request: HtmxHttpRequest, workspace_name: str, name: str) -> HttpResponse:
    workspace, datastore = _queries_datastore(request, workspace_name, name)
    timeout = statement_timeout()
    form = QueryForm(request.POST or None, initial={"sql": request.GET.get("sql", "")}, timeout=timeout)
    context: dict[str, Any] = {
        "workspace": workspace,
        "datastore": datastore,
        "form": form,
        "result": None,
        "error": "",
    }
    if request.method == "POST" and form.is_valid():
        try:
            result = selectors.query_run(
                datastore,
                form.cleaned_data["sql"],
                actor=request.actor,
                row_limit=form.cleaned_data["row_limit"],
                timeout=timeout,
            )
        except QueryFailed as failure:
            context["error"] = failure.message
        else:
            context.update(result=result, grid=grid(result.column_names, result.rows))
    elif request.method == "POST" and request.htmx:
        # Only the result is swapped in, so the field's own error goes there too.
        context["error"] = " ".join(str(error) for errors in form.errors.values() for error in errors)
    template = "datastores/sql/query.html"
    if request.htmx and request.method == "POST":
        template += "#result"
    return render(request, template, context)


@require_POST
def datastore_query_csv(request: HtmxHttpRequest, workspace_name: str, name: str) -> HttpResponseBase:
    workspace, datastore = _queries_datastore(request, workspace_name, name)
    timeout = statement_timeout()
    form = QueryForm(request.POST, timeout=timeout)
    error = ""  # an invalid form shows its errors on its fields
    if form.is_valid():
        try:
            stream = selectors.query_csv(datastore, form.cleaned_data["sql"], actor=request.actor, timeout=timeout)
        except QueryFailed as failure:
            error = failure.message
        else:
            return _csv_response(stream, f"{datastore.name}-query.csv")
    context = {"workspace": workspace, "datastore": datastore, "form": form, "result": None, "error": error}
    return render(request, "datastores/sql/query.html", context)
