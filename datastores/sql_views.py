"""Thin views of a SQL datastore: its tables, a table's columns and rows, the read-only
query box, and CSV downloads. The database work lives in storage/sql.py."""

from __future__ import annotations

from django import forms
from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from . import selectors
from .models import Datastore, Workspace
from .storage import StorageError, StoredSettingsInvalid
from .storage.sql import MAX_PAGE_SIZE, PREVIEW_PAGE_SIZE, QUERY_ROW_LIMIT, CsvStream, SqlBackend, TableNotFound, statement_timeout
from .views import HtmxHttpRequest, _workspace

ROW_LIMITS = [(100, "100 rows"), (QUERY_ROW_LIMIT, "1,000 rows"), (10_000, "10,000 rows")]


class QueryForm(forms.Form):
    sql = forms.CharField(
        label="SQL query",
        max_length=100_000,
        error_messages={"required": "Type a statement to run."},
        widget=forms.Textarea(attrs={"rows": 6, "spellcheck": "false", "autocomplete": "off", "class": "mono"}),
    )
    row_limit = forms.TypedChoiceField(label="Show at most", choices=ROW_LIMITS, coerce=int, initial=QUERY_ROW_LIMIT)

    def __init__(self, *args, timeout: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["sql"].help_text = (
            f"One statement, run in a read-only transaction: the database refuses writes. It stops after {timeout} s."
        )


def _sql_datastore(request: HtmxHttpRequest, workspace_name: str, name: str) -> tuple[Workspace, Datastore]:
    workspace = _workspace(request, workspace_name)
    datastore = selectors.datastore_get(workspace, name)
    if not isinstance(datastore.backend, SqlBackend):
        raise Http404("Only SQL datastores have tables.")
    return workspace, datastore


def _failure_text(failure: Exception) -> str:
    return failure.message if isinstance(failure, StorageError) else str(failure)


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
    workspace, datastore = _sql_datastore(request, workspace_name, name)
    context = {"workspace": workspace, "datastore": datastore, "listing": None, "error": ""}
    try:
        context["listing"] = datastore.backend.list_tables(datastore.connection())
    except (StorageError, StoredSettingsInvalid) as failure:
        context["error"] = _failure_text(failure)
    return render(request, "datastores/sql/tables.html", context)


def _table_context(workspace, datastore, schema: str, table: str) -> dict:
    return {
        "workspace": workspace,
        "datastore": datastore,
        "schema": schema,
        "table": table,
        "starting_query": datastore.backend.table_query(schema, table),
        "rows": None,
        "error": "",
    }


@require_GET
def datastore_table(request: HtmxHttpRequest, workspace_name: str, name: str, schema: str, table: str) -> HttpResponse:
    workspace, datastore = _sql_datastore(request, workspace_name, name)
    context = _table_context(workspace, datastore, schema, table)
    page = _whole_number(request.GET.get("page"), 1)
    page_size = _whole_number(request.GET.get("page_size"), PREVIEW_PAGE_SIZE, maximum=MAX_PAGE_SIZE)
    status = 200
    try:
        context["rows"] = datastore.backend.preview_rows(
            datastore.connection(), schema, table, page=page, page_size=page_size
        )
    except TableNotFound as missing:
        context["error"], status = missing.message, 404
    except (StorageError, StoredSettingsInvalid) as failure:
        context["error"] = _failure_text(failure)
    context["custom_page_size"] = page_size if page_size != PREVIEW_PAGE_SIZE else None
    template = "datastores/sql/table.html"
    if request.htmx and request.htmx.target == "rows":
        template += "#rows"
        status = 200  # htmx swaps only successful responses; the partial says what went wrong
    return render(request, template, context, status=status)


@require_GET
def datastore_table_csv(request: HtmxHttpRequest, workspace_name: str, name: str, schema: str, table: str) -> HttpResponse:
    workspace, datastore = _sql_datastore(request, workspace_name, name)
    try:
        stream = datastore.backend.stream_table_csv(datastore.connection(), schema, table)
    except (StorageError, StoredSettingsInvalid) as failure:
        context = {**_table_context(workspace, datastore, schema, table), "error": _failure_text(failure)}
        status = 404 if isinstance(failure, TableNotFound) else 200
        return render(request, "datastores/sql/table.html", context, status=status)
    return _csv_response(stream, f"{table}.csv")


@require_http_methods(["GET", "POST"])
def datastore_query(request: HtmxHttpRequest, workspace_name: str, name: str) -> HttpResponse:
    workspace, datastore = _sql_datastore(request, workspace_name, name)
    timeout = statement_timeout()
    form = QueryForm(request.POST or None, initial={"sql": request.GET.get("sql", "")}, timeout=timeout)
    context = {"workspace": workspace, "datastore": datastore, "form": form, "result": None, "error": ""}
    if request.method == "POST" and form.is_valid():
        try:
            context["result"] = datastore.backend.run_readonly_query(
                datastore.connection(), form.cleaned_data["sql"], row_limit=form.cleaned_data["row_limit"], timeout=timeout
            )
        except (StorageError, StoredSettingsInvalid) as failure:
            context["error"] = _failure_text(failure)
    elif request.method == "POST" and request.htmx:
        # Only the result is swapped in, so the field's own error goes there too.
        context["error"] = " ".join(error for errors in form.errors.values() for error in errors)
    template = "datastores/sql/query.html"
    if request.htmx and request.method == "POST":
        template += "#result"
    return render(request, template, context)


@require_POST
def datastore_query_csv(request: HtmxHttpRequest, workspace_name: str, name: str) -> HttpResponse:
    workspace, datastore = _sql_datastore(request, workspace_name, name)
    timeout = statement_timeout()
    form = QueryForm(request.POST, timeout=timeout)
    error = ""  # an invalid form shows its errors on its fields
    if form.is_valid():
        try:
            stream = datastore.backend.stream_query_csv(datastore.connection(), form.cleaned_data["sql"], timeout=timeout)
        except (StorageError, StoredSettingsInvalid) as failure:
            error = _failure_text(failure)
        else:
            return _csv_response(stream, f"{datastore.name}-query.csv")
    context = {"workspace": workspace, "datastore": datastore, "form": form, "result": None, "error": error}
    return render(request, "datastores/sql/query.html", context)
