"""Pages of SQL datastores: schemas and tables, row previews, read-only queries, CSV downloads."""

urlpatterns: list = []
