"""Looking inside files without downloading them, against the real Azurite (Blob) and the File
Share stand-in (no emulator exists for Azure Files): files made by the test, read back
through the preview page."""

from __future__ import annotations

import io
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from django.urls import reverse

from datastores import previews

from .support import png, put, url

pytestmark = pytest.mark.django_db


def preview_page(client, datastore, path) -> str:
    response = client.get(url(datastore, "datastore_preview"), {"path": path})
    assert response.status_code == 200, response.content[:500]
    return response.content.decode()


def test_a_csv_shows_as_a_table(client, datastore):
    put(client, datastore, "data/sales.csv", b"region,total\nnorth,10\nsouth,<b>20</b>\n")
    page = preview_page(client, datastore, "data/sales.csv")
    assert '<th scope="col">region</th><th scope="col">total</th>' in page
    assert "<td>north</td><td>10</td>" in page
    assert "&lt;b&gt;20&lt;/b&gt;" in page and "<b>20</b>" not in page


def test_a_tsv_splits_on_tabs(client, datastore):
    put(client, datastore, "t.tsv", b"a\tb\n1\t2\n")
    assert "<td>1</td><td>2</td>" in preview_page(client, datastore, "t.tsv")


def test_json_is_pretty_printed(client, datastore):
    put(client, datastore, "conf.json", json.dumps({"name": "x", "layers": [1, 2]}).encode())
    page = preview_page(client, datastore, "conf.json")
    assert "{\n  &quot;name&quot;: &quot;x&quot;,\n  &quot;layers&quot;: [\n    1," in page


def test_parquet_shows_its_schema_and_first_rows(client, datastore):
    table = pa.table({"id": list(range(1000)), "city": [f"city-{n}" for n in range(1000)]})
    buffer = io.BytesIO()
    pq.write_table(table, buffer, row_group_size=300)
    put(client, datastore, "lake/cities.parquet", buffer.getvalue())
    page = preview_page(client, datastore, "lake/cities.parquet")
    assert '<td class="mono">id</td><td class="mono">int64</td>' in page
    assert '<td class="mono">city</td><td class="mono">string</td>' in page
    assert "1,000 rows" in page
    assert "<td>0</td><td>city-0</td>" in page and "<td>49</td><td>city-49</td>" in page
    assert "city-50<" not in page
    assert f"The first {previews.PARQUET_ROWS} of 1,000 rows are shown." in page


def test_a_png_is_shown_from_its_own_url_with_a_safe_type(client, datastore):
    image = png()
    put(client, datastore, "img/dot.png", image)
    page = preview_page(client, datastore, "img/dot.png")
    src = reverse("datastore_preview_image", args=[datastore.workspace.name, datastore.name]) + "?path=img/dot.png"
    assert f'<img class="preview-image" src="{src}"' in page.replace("%2F", "/")
    response = client.get(url(datastore, "datastore_preview_image"), {"path": "img/dot.png"})
    assert b"".join(response.streaming_content) == image
    assert response["Content-Type"] == "image/png"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response["Content-Security-Policy"]
    assert response["Content-Disposition"].startswith("inline")


def test_svg_and_html_show_as_text_and_never_as_markup_or_an_image(client, datastore):
    put(client, datastore, "evil.svg", b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>')
    put(client, datastore, "evil.html", b"<script>alert(2)</script>")
    svg_page, html_page = preview_page(client, datastore, "evil.svg"), preview_page(client, datastore, "evil.html")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in svg_page and "<script>alert(1)" not in svg_page
    assert "preview-image" not in svg_page
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in html_page and "<script>alert(2)" not in html_page
    response = client.get(url(datastore, "datastore_preview_image"), {"path": "evil.svg"})
    assert response.status_code == 400  # never served as an image, whatever the stored type says


def test_a_10_mib_text_file_shows_only_its_first_mib_and_says_so(client, datastore):
    line = b"0123456789abcdefghijklmnopqrstuvwxyz-log-line\n"
    data = line * (10 * 1024 * 1024 // len(line) + 1)
    put(client, datastore, "logs/big.log", data)
    page = preview_page(client, datastore, "logs/big.log")
    assert "Only the first 1 MiB is shown" in page
    shown = page.split("<code>")[1].split("</code>")[0]
    assert 0.9 * previews.TEXT_LIMIT < len(shown) <= previews.TEXT_LIMIT
    assert len(page) < 1.2 * previews.TEXT_LIMIT


def test_read_range_reads_only_the_bytes_asked_for(datastore):
    """The call a preview is built on returns the piece asked for, not the file."""
    data = bytes(range(256)) * 4096
    datastore.backend.upload(datastore.connection(), "r.bin", iter([data]), overwrite=False, size=len(data))
    assert datastore.backend.read_range(datastore.connection(), "r.bin", 1000, 24) == data[1000:1024]
    assert datastore.backend.read_range(datastore.connection(), "r.bin", len(data) - 4, 100) == data[-4:]
    assert datastore.backend.read_range(datastore.connection(), "r.bin", len(data) + 10, 100) == b""


def test_a_file_of_no_known_kind_shows_its_properties_only(client, datastore):
    put(client, datastore, "model.bin", bytes(range(256)))
    page = preview_page(client, datastore, "model.bin")
    assert "There is no preview for this kind of file" in page and "256\xa0bytes" in page
