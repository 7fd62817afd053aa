"""A look inside a file without downloading it: text, JSON, CSV and TSV, Parquet, images.

Every preview reads a bounded number of bytes through the backend's `read_range`: the
first TEXT_LIMIT bytes of text, or a Parquet file's footer and first row group. Nothing
from the file is ever run: text is escaped by the template (HTML and SVG show as text),
and images are served by their own view with a fixed type, nosniff and a sandbox.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
from dataclasses import dataclass, field
from typing import Any

from .storage import Connection, FileProperties, InvalidInput, StorageBackend
from .storage.paths import name_of

MiB = 1024 * 1024
TEXT_LIMIT = MiB  # bytes of a text, JSON, CSV or TSV file a preview reads
TABLE_ROWS = 200  # rows of a CSV or TSV preview
PARQUET_ROWS = 50  # rows of a Parquet preview
PARQUET_ROW_GROUP_LIMIT = 64 * MiB  # a first row group larger than this shows the schema only
IMAGE_LIMIT = 20 * MiB  # the largest image shown inline
CELL_LIMIT = 200  # characters of one cell shown

# Images shown inline, by extension, with the type they are served as (never the stored one).
# SVG is not here: it can hold script, so it shows as text.
IMAGE_TYPES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".bmp": "image/bmp",
    ".avif": "image/avif",
}
TABLE_DELIMITERS = {".csv": ",", ".tsv": "\t", ".tab": "\t"}
TEXT_EXTENSIONS = {
    ".txt",
    ".md",
    ".rst",
    ".log",
    ".py",
    ".r",
    ".sql",
    ".sh",
    ".yaml",
    ".yml",
    ".toml",
    ".ini",
    ".cfg",
    ".conf",
    ".xml",
    ".html",
    ".htm",
    ".svg",
    ".js",
    ".ts",
    ".css",
    ".ipynb",
    ".jsonl",
    ".ndjson",
    ".env",
    ".properties",
    ".java",
    ".scala",
    ".c",
    ".h",
    ".cpp",
    ".go",
    ".rs",
    ".rb",
    ".php",
    ".tex",
    ".srt",
    ".vtt",
}


def extension(path: str) -> str:
    name = name_of(path).lower()
    return name[name.rfind(".") :] if "." in name else ""


def kind_of(path: str, content_type: str) -> str:
    """'image', 'parquet', 'table', 'json', 'text', or '' (properties only)."""
    ext, content_type = extension(path), (content_type or "").split(";")[0].strip().lower()
    if ext in IMAGE_TYPES:
        return "image"
    if ext in (".parquet", ".pq"):
        return "parquet"
    if ext in TABLE_DELIMITERS:
        return "table"
    if ext == ".json" or content_type == "application/json":
        return "json"
    if ext in TEXT_EXTENSIONS or content_type.startswith("text/"):
        return "text"
    return ""


@dataclass
class Preview:
    kind: str  # as kind_of says; '' when only the properties show
    text: str = ""
    columns: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    schema: list[tuple[str, str]] = field(default_factory=list)
    partial: bool = False  # only the beginning is shown
    note: str = ""
    total_rows: int | None = None


def _decode(data: bytes) -> str:
    """UTF-8 text, without a character cut in half at the end of a partial read."""
    return codecs.getincrementaldecoder("utf-8")(errors="replace").decode(data, final=False)


def _cell(value: Any) -> str:
    text = "" if value is None else str(value)
    return text if len(text) <= CELL_LIMIT else text[:CELL_LIMIT] + "…"


def _beginning(backend: StorageBackend, connection: Connection, path: str, size: int | None) -> tuple[bytes, bool]:
    data = backend.read_range(connection, path, 0, TEXT_LIMIT)
    partial = (size is not None and size > len(data)) or (size is None and len(data) >= TEXT_LIMIT)
    return data, partial


def _beginning_note(partial: bool) -> str:
    return f"Only the first {TEXT_LIMIT // MiB} MiB is shown. Download the file for all of it." if partial else ""


def preview(backend: StorageBackend, connection: Connection, properties: FileProperties) -> Preview:
    path, size = properties.path, properties.size
    kind = kind_of(path, properties.content_type)
    if not kind or not backend.capabilities.read_range:
        return Preview("")
    if kind == "image":
        if size is not None and size > IMAGE_LIMIT:
            return Preview("", note=f"This image is larger than {IMAGE_LIMIT // MiB} MiB: download it to see it.")
        return Preview("image")
    if kind == "parquet":
        return _parquet(backend, connection, path, size)
    data, partial = _beginning(backend, connection, path, size)
    text = _decode(data)
    if kind == "json" and not partial:
        try:
            return Preview("json", text=json.dumps(json.loads(text), indent=2, ensure_ascii=False))
        except ValueError:
            return Preview("text", text=text, note="This is not valid JSON, so it is shown as it is.")
    if kind == "table":
        return _table(text, partial, TABLE_DELIMITERS[extension(path)])
    return Preview("text", text=text, partial=partial, note=_beginning_note(partial))


def _table(text: str, partial: bool, delimiter: str) -> Preview:
    lines = text.splitlines(keepends=True)
    if partial and len(lines) > 1:
        lines = lines[:-1]  # the last line was cut by the read
    reader = csv.reader(io.StringIO("".join(lines)), delimiter=delimiter)
    try:
        rows = [[_cell(value) for value in row] for _, row in zip(range(TABLE_ROWS + 1), reader, strict=False)]
    except csv.Error:
        return Preview(
            "text", text=text, partial=partial, note="The rows could not be read as a table, so they are shown as text."
        )
    if not rows:
        return Preview("table", note="The file is empty.")
    columns, body = rows[0], rows[1:]
    more = len(body) > TABLE_ROWS - 1 or partial
    body = body[: TABLE_ROWS - 1]
    width = max([len(columns), *map(len, body)])
    columns += [""] * (width - len(columns))
    note = f"The first {len(body)} rows are shown. Download the file for all of them." if more else ""
    return Preview(
        "table", columns=columns, rows=[row + [""] * (width - len(row)) for row in body], partial=more, note=note
    )


class RangeReader(io.RawIOBase):
    """A read-only file over `read_range`, for pyarrow: it reads what it seeks to, and no more
    than `budget` bytes in all."""

    def __init__(self, backend: StorageBackend, connection: Connection, path: str, size: int, budget: int):
        self.backend, self.connection, self.path, self.size = backend, connection, path, size
        self.position, self.budget = 0, budget

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.position, io.SEEK_END: self.size}[whence]
        self.position = max(0, base + offset)
        return self.position

    def read(self, size: int = -1) -> bytes:
        wanted = self.size - self.position if size is None or size < 0 else min(size, self.size - self.position)
        if wanted <= 0:
            return b""
        if wanted > self.budget:
            raise InvalidInput("This Parquet file's first row group is too large to preview.")
        data = self.backend.read_range(self.connection, self.path, self.position, wanted)
        self.budget -= len(data)
        self.position += len(data)
        return data

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def _parquet(backend: StorageBackend, connection: Connection, path: str, size: int | None) -> Preview:
    import pyarrow as pa
    import pyarrow.parquet as pq

    if not size:
        return Preview("", note="The file is empty.")
    reader = RangeReader(backend, connection, path, size, budget=PARQUET_ROW_GROUP_LIMIT + 8 * MiB)
    try:
        parquet = pq.ParquetFile(pa.PythonFile(reader, mode="r"))
    except (pa.ArrowException, OSError):
        return Preview("", note="This is not a Parquet file pyarrow can read.")
    metadata = parquet.metadata
    schema = [(column.name, str(column.type)) for column in parquet.schema_arrow]
    found = Preview("parquet", schema=schema, total_rows=metadata.num_rows)
    if metadata.num_row_groups == 0:
        return found
    if metadata.row_group(0).total_byte_size > PARQUET_ROW_GROUP_LIMIT:
        found.note = "The first row group is too large to preview: only the schema is shown."
        return found
    try:
        table = parquet.read_row_group(0).slice(0, PARQUET_ROWS)
    except (pa.ArrowException, OSError, InvalidInput):
        found.note = "The rows could not be read: only the schema is shown."
        return found
    found.columns = table.column_names
    found.rows = [[_cell(value) for value in row.values()] for row in table.to_pylist()]
    found.partial = metadata.num_rows > len(found.rows)
    if found.partial:
        found.note = f"The first {len(found.rows)} of {metadata.num_rows:,} rows are shown."
    return found
