"""What storage types with tables (capabilities `tables` and `queries`) return:
schemas and tables, a table's columns, a page of rows, a query's result, and
CSV streamed from a server-side cursor. How these are shown is the views' business.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from .errors import InvalidInput, NotFound

CSV_CHUNK_BYTES = 64 * 1024


@dataclass(frozen=True)
class TableInfo:
    schema: str
    name: str
    kind: str  # "table", "view", "materialized view", ...
    estimated_rows: int | None = None  # only where the server keeps a cheap estimate


@dataclass(frozen=True)
class SchemaInfo:
    name: str
    tables: list[TableInfo]

    @property
    def summary(self) -> str:
        """'3 tables, 1 view', as a person would say it."""
        views = sum(1 for table in self.tables if table.kind == "view")
        tables = len(self.tables) - views
        parts = [
            f"{count} {noun}{'' if count == 1 else 's'}"
            for count, noun in ((tables, "table"), (views, "view"))
            if count
        ]
        return ", ".join(parts) or "empty"


@dataclass(frozen=True)
class TableListing:
    schemas: list[SchemaInfo]
    truncated: bool  # more tables and views than one listing holds


@dataclass(frozen=True)
class ColumnInfo:
    name: str
    type: str
    nullable: bool
    in_primary_key: bool = False


@dataclass(frozen=True)
class RowsPage:
    """One page of a table's rows, with the table's columns."""

    columns: list[ColumnInfo]
    rows: list[tuple[Any, ...]]
    page: int
    page_size: int
    has_next: bool

    @property
    def first_row_number(self) -> int:
        return (self.page - 1) * self.page_size + 1

    @property
    def last_row_number(self) -> int:
        return self.first_row_number + len(self.rows) - 1

    @property
    def column_names(self) -> list[str]:
        return [column.name for column in self.columns]


@dataclass(frozen=True)
class QueryResult:
    column_names: list[str]  # empty when the statement returns no rows
    rows: list[tuple[Any, ...]]
    row_limit: int
    truncated: bool  # the statement returned more than row_limit rows
    elapsed_seconds: float

    @property
    def returns_rows(self) -> bool:
        return bool(self.column_names)

    @property
    def elapsed_text(self) -> str:
        if self.elapsed_seconds < 1:
            return f"{max(1, round(self.elapsed_seconds * 1000))} ms"
        return f"{self.elapsed_seconds:.2f} s"


class QueryFailed(InvalidInput):
    """The database refused or failed a statement. The message is the database's own
    (what a person needs to fix the query); it never carries connection secrets."""


class TableNotFound(NotFound):
    """No table or view of that name is visible to the datastore's user."""


def cell_text(value: Any) -> str:
    """A value as text, the same in a page and in a CSV file (NULL is the caller's business)."""
    if isinstance(value, memoryview):
        value = value.tobytes()
    if isinstance(value, bytes | bytearray):
        return "\\x" + bytes(value).hex()
    return str(value)


class CsvStream:
    """CSV bytes read from a server-side cursor, a batch of rows at a time.

    The statement has already run when this object exists, so errors such as a
    refused login or a syntax error surface before the download starts. close()
    releases the database connection, also when the download is abandoned; Django
    calls it when the response is closed.
    """

    def __init__(
        self,
        *,
        columns: list[str],
        fetch_batch: Callable[[], Sequence[Sequence[Any]]],
        release: Callable[[bool], None],
        rows_are_text: bool = False,
    ):
        self.columns = columns
        self._fetch_batch = fetch_batch  # () -> rows; empty at the end
        self._release = release  # (finished) -> None
        # Rows of str and None only (csv writes None as ""): no per-value Python work.
        self._rows_are_text = rows_are_text
        self._finished = False
        self._closed = False

    def __iter__(self) -> Iterator[bytes]:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(self.columns)
        try:
            while batch := self._fetch_batch():
                if self._rows_are_text:
                    writer.writerows(batch)
                else:
                    writer.writerows(["" if value is None else cell_text(value) for value in row] for row in batch)
                if buffer.tell() >= CSV_CHUNK_BYTES:
                    yield buffer.getvalue().encode()
                    buffer.seek(0)
                    buffer.truncate()
            self._finished = True
            yield buffer.getvalue().encode()
        finally:
            self.close()

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._release(self._finished)
