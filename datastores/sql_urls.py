"""Pages of SQL datastores: schemas and tables, row previews, read-only queries, CSV downloads.

Included at workspaces/<workspace_name>/datastores/<name>/tables/, so every view
gets `workspace_name` and `name`.
"""

from urllib.parse import quote, unquote

from django.urls import path, register_converter

from . import sql_views


class SqlNameConverter:
    """A schema or table name as one path segment. Names may hold any character, even
    "/": it travels percent-encoded inside the segment."""

    regex = "[^/]+"

    def to_python(self, value: str) -> str:
        return unquote(value)

    def to_url(self, value: str) -> str:
        return quote(value, safe="")


register_converter(SqlNameConverter, "sqlname")

# One segment for the query pages, two or three for a table's, so no name can shadow another page.

table = "<sqlname:schema>/<sqlname:table>/"

urlpatterns = [
    path("", sql_views.datastore_tables, name="datastore_tables"),
    path("query/", sql_views.datastore_query, name="datastore_query"),
    path("query.csv", sql_views.datastore_query_csv, name="datastore_query_csv"),
    path(table, sql_views.datastore_table, name="datastore_table"),
    path(table + "csv/", sql_views.datastore_table_csv, name="datastore_table_csv"),
]
