"""Pages of datastores whose data are files: browse a folder, upload, download, delete.

Uploads are one PUT per file with the raw bytes as the body, read in chunks and
streamed to storage, so the server never holds a whole file in memory or on disk.
Storage errors rise to errors.py, which answers with the page, the part or JSON.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from urllib.parse import quote, urlencode

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from zipstream import ZipStream

from . import selectors, services
from .models import Datastore, Workspace
from .storage import Entry, InvalidInput
from .storage.paths import clean_path, join, name_of, parent
from .views import HtmxHttpRequest, _datastore

PAGE_SIZE = 100
REQUEST_READ_SIZE = 1024 * 1024  # see _request_chunks


class UploadInterrupted(InvalidInput):
    """The browser sent fewer bytes than it announced."""


def _files_datastore(request: HtmxHttpRequest, workspace_name: str, name: str) -> tuple[Workspace, Datastore]:
    workspace, datastore = _datastore(request, workspace_name, name)
    if not datastore.backend.capabilities.browse:
        raise Http404("This datastore has no files to browse.")
    return workspace, datastore


def breadcrumbs(folder: str) -> list[tuple[str, str]]:
    """(label, folder path) from the root down to `folder`."""
    crumbs, current = [("Root", "")], ""
    for segment in folder.split("/") if folder else []:
        current = join(current, segment)
        crumbs.append((segment, current))
    return crumbs


@require_GET
def datastore_browse(request: HtmxHttpRequest, workspace_name: str, name: str) -> HttpResponse:
    workspace, datastore = _files_datastore(request, workspace_name, name)
    folder = clean_path(request.GET.get("path", ""))
    name_prefix = request.GET.get("prefix", "").strip()
    continuation = request.GET.get("continuation") or None
    page = selectors.folder_page(
        datastore, folder, name_prefix=name_prefix, continuation=continuation, page_size=PAGE_SIZE
    )
    context = {
        "workspace": workspace,
        "datastore": datastore,
        "page": page,
        "folder": folder,
        "name_prefix": name_prefix,
        "crumbs": breadcrumbs(folder),
        "parent_folder": parent(folder),
    }
    if page.continuation:
        # The query of the next page, as Django's urlencode filter writes it (folders keep their "/").
        next_page = {"path": folder, "prefix": name_prefix, "continuation": page.continuation}
        context["next_page_query"] = urlencode(next_page, safe="/", quote_via=quote)
    template = "datastores/datastore_browse.html"
    if request.htmx and continuation:
        template += "#more-rows"
    elif request.htmx and request.htmx.target == "listing":
        template += "#listing"
    return render(request, template, context)


def _safe_filename(filename: str) -> str:
    """A download name with no control characters (CR/LF would break the header)."""
    cleaned = "".join("_" if unicodedata.category(char).startswith("C") else char for char in filename)
    return cleaned.strip() or "download"


@require_http_methods(["GET", "PUT"])
def datastore_file(request: HtmxHttpRequest, workspace_name: str, name: str, file_path: str) -> HttpResponse:
    """GET streams a file down; PUT streams the request body up into it."""
    _workspace, datastore = _files_datastore(request, workspace_name, name)
    if request.method == "PUT":
        return _upload(request, datastore, file_path)
    download = selectors.file_download(datastore, file_path)
    response = StreamingHttpResponse(download.chunks, content_type=download.content_type)
    response["Content-Disposition"] = content_disposition_header(True, _safe_filename(download.name))
    if download.size is not None:
        response["Content-Length"] = str(download.size)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


def _request_chunks(request: HttpRequest, size: int, chunk_size: int) -> Iterator[bytes]:
    """The request body in chunks of `chunk_size` bytes (the last one shorter).

    Each chunk is read from the server in pieces of at most REQUEST_READ_SIZE and joined once:
    gunicorn grows a buffer by copying when asked for a large read in one call, and measured,
    1 MiB reads joined cost its worker about 0.1 CPU-s less per GiB than 8 MiB reads."""
    remaining = size
    while remaining > 0:
        want = min(chunk_size, remaining)
        pieces = []
        while want > 0:
            try:
                piece = request.read(min(REQUEST_READ_SIZE, want))
            except OSError:
                piece = b""  # the connection broke
            if not piece:
                raise UploadInterrupted(f"The upload stopped after {size - remaining} of {size} bytes. Nothing was saved.")
            pieces.append(piece)
            want -= len(piece)
            remaining -= len(piece)
        yield b"".join(pieces)  # a single piece comes back as it is, not copied


def _upload(request: HttpRequest, datastore: Datastore, path: str) -> JsonResponse:
    try:
        size = int(request.META.get("CONTENT_LENGTH") or "")
    except ValueError:
        return JsonResponse({"outcome": "failed", "path": path, "message": "The upload has no Content-Length."}, status=411)
    limit = settings.MAX_UPLOAD_BYTES
    if limit and size > limit:  # answered before a byte of the body is read
        message = f"The file is larger than this studio accepts ({limit} bytes at most)."
        return JsonResponse({"outcome": "failed", "path": path, "message": message}, status=413)
    content_type = request.META.get("CONTENT_TYPE", "")
    outcome = services.file_upload(
        datastore=datastore,
        path=path,
        chunks=_request_chunks(request, size, datastore.backend.upload_block_size),
        overwrite=request.GET.get("overwrite") == "1",
        content_type="" if content_type in ("", "application/octet-stream") else content_type,
        size=size,
    )
    return JsonResponse({"outcome": str(outcome), "path": path})


SKIPPED_ENTRIES_NAME = "NOT-INCLUDED.txt"


def safe_zip_name(name: str) -> bool:
    """Whether a name stays inside the folder a zip is unpacked into, whatever the unzip tool:
    relative, "/"-separated, no empty, "." or ".." segment, no backslash, drive or control character."""
    segments = name.split("/")
    return bool(name) and all(
        segment not in ("", ".", "..")
        and "\\" not in segment
        and ":" not in segment
        and not any(unicodedata.category(char).startswith("C") for char in segment)
        for segment in segments
    )


def _zip_chunks(datastore: Datastore, folder: str) -> Iterator[bytes]:
    archive = ZipStream(sized=False)
    skipped: list[str] = []

    def file_chunks(entry: Entry) -> Iterator[bytes]:
        yield from selectors.entry_download(datastore, entry).chunks

    for entry in selectors.folder_files(datastore, folder):
        name = entry.path[len(folder) + 1 :] if folder else entry.path
        if not safe_zip_name(name):
            skipped.append(name)
            continue
        archive.add(file_chunks(entry), name)
        yield from archive.all_files()
    if skipped:
        listing = "\n".join(ascii(name) for name in skipped)  # quoted and escaped: no name is written as it is
        report = (
            "These files were not included: their names could escape the folder the zip is unpacked into.\n"
            f"{listing}\n"
        )
        archive.add(report.encode(), SKIPPED_ENTRIES_NAME)
        yield from archive.all_files()
    yield from archive.footer()


@require_GET
def datastore_folder_zip(request: HtmxHttpRequest, workspace_name: str, name: str) -> HttpResponse:
    """A folder as a zip, built and streamed on the fly: memory stays bounded whatever its size."""
    _workspace, datastore = _files_datastore(request, workspace_name, name)
    folder = clean_path(request.GET.get("path", ""))
    archive_name = f"{name_of(folder) or datastore.name}.zip"
    response = StreamingHttpResponse(_zip_chunks(datastore, folder), content_type="application/zip")
    response["Content-Disposition"] = content_disposition_header(True, _safe_filename(archive_name))
    response["X-Content-Type-Options"] = "nosniff"
    return response


def _browse_url(workspace: Workspace, datastore: Datastore, folder: str) -> str:
    url = reverse("datastore_browse", args=[workspace.name, datastore.name])
    return f"{url}?{urlencode({'path': folder})}"


@require_POST
def datastore_delete_file(request: HtmxHttpRequest, workspace_name: str, name: str) -> HttpResponse:
    workspace, datastore = _files_datastore(request, workspace_name, name)
    path = services.file_delete(datastore=datastore, path=request.POST.get("path", ""))
    return redirect(_browse_url(workspace, datastore, parent(path)))


@require_POST
def datastore_new_folder(request: HtmxHttpRequest, workspace_name: str, name: str) -> HttpResponse:
    workspace, datastore = _files_datastore(request, workspace_name, name)
    if not datastore.backend.capabilities.folders:
        raise Http404("Folders of this storage type exist only through the files in them.")
    folder = services.folder_create(
        datastore=datastore, parent=request.POST.get("path", ""), name=request.POST.get("folder_name", "")
    )
    return redirect(_browse_url(workspace, datastore, folder))
