"""Pages of datastores whose data are files: browse a folder, upload, download, delete.

Uploads are one PUT per file with the raw bytes as the body, read in chunks and
streamed to storage, so the server never holds a whole file in memory or on disk.
Storage errors rise to errors.py, which answers with the page, the part or JSON.
"""

from __future__ import annotations

from typing import Any, cast
from urllib.parse import quote, urlencode

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpResponse, HttpResponseRedirect, JsonResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.csp import CSP
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from . import selectors, services
from .access import Need
from .models import Datastore, Workspace
from .previews import IMAGE_LIMIT, IMAGE_TYPES, extension
from .storage import Conflict, Entry, InvalidInput
from .storage.paths import clean_path, guess_content_type, join, name_of, parent
from .streams import request_chunks, safe_filename, zip_name, zip_response
from .views import HtmxHttpRequest, _datastore

PAGE_SIZE = 100
DIRECT_BLOCKS_IN_FLIGHT = 4  # blocks a browser sends at once in a direct upload


def _files_datastore(
    request: HtmxHttpRequest, workspace_name: str, name: str, need: Need = Need.VIEW
) -> tuple[Workspace, Datastore]:
    workspace, datastore = _datastore(request, workspace_name, name, need)
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
    """The page renders at once; the listing, which asks the storage service, comes into place
    through htmx (or, without JavaScript, with ?listing=1)."""
    workspace, datastore = _files_datastore(request, workspace_name, name)
    folder = clean_path(request.GET.get("path", ""))
    name_prefix = request.GET.get("prefix", "").strip()
    continuation = request.GET.get("continuation") or None
    context: dict[str, Any] = {
        "workspace": workspace,
        "datastore": datastore,
        "folder": folder,
        "name_prefix": name_prefix,
        "crumbs": breadcrumbs(folder),
        "parent_folder": parent(folder),
        "listing_query": urlencode({"path": folder, "prefix": name_prefix}, safe="/", quote_via=quote),
        "direct": selectors.direct_transfer_possible(datastore),
    }
    template = "datastores/datastore_browse.html"
    wants_listing = request.htmx or request.GET.get("listing") == "1"
    if wants_listing:
        page = selectors.folder_page(
            datastore,
            folder,
            actor=request.actor,
            name_prefix=name_prefix,
            continuation=continuation,
            page_size=PAGE_SIZE,
        )
        context["page"] = page
        context["listed"] = True
        if page.continuation:
            # The query of the next page, as Django's urlencode filter writes it (folders keep their "/").
            next_page = {"path": folder, "prefix": name_prefix, "continuation": page.continuation, "listing": "1"}
            context["next_page_query"] = urlencode(next_page, safe="/", quote_via=quote)
    if request.htmx and continuation:
        template += "#more-rows"
    elif request.htmx and request.htmx.target == "listing":
        template += "#listing"
    response = render(request, template, context)
    if context["direct"].origin and request.can.change and not context["direct"].downloads_only:
        allow_storage_origin(response, context["direct"].origin)
    return response


def studio_origin(request: HtmxHttpRequest) -> str:
    return f"{request.scheme}://{request.get_host()}"


def allow_storage_origin(response: HttpResponse, origin: str) -> None:
    """This page's scripts may also reach the datastore's storage service, and only that one."""
    policy: dict[str, Any] = dict(settings.SECURE_CSP)
    policy["connect-src"] = [*policy.get("connect-src", [CSP.SELF]), origin]
    response._csp_config = policy  # type: ignore[attr-defined]  # read by Django's CSP middleware


@require_GET
def datastore_direct_status(request: HtmxHttpRequest, workspace_name: str, name: str) -> HttpResponse:
    """Whether this browser's uploads go straight to storage; if not, why (said once on the page),
    with the button that allows the studio in the account's CORS rules for an owner."""
    workspace, datastore = _files_datastore(request, workspace_name, name, Need.CHANGE)
    mode = selectors.direct_transfer_mode(datastore, studio_origin(request), may_manage=request.can.manage)
    context = {
        "workspace": workspace,
        "datastore": datastore,
        "direct_mode": mode,
        "folder": request.GET.get("path", ""),
    }
    return render(request, "datastores/datastore_browse.html#direct-status", context)


@require_POST
def datastore_direct_upload(request: HtmxHttpRequest, workspace_name: str, name: str, file_path: str) -> JsonResponse:
    """A SAS for the browser to upload this one file itself (Put Block, then Put Block List)."""
    _workspace, datastore = _files_datastore(request, workspace_name, name, Need.CHANGE)
    possible = selectors.direct_transfer_possible(datastore)
    if not possible.available or possible.downloads_only:
        return JsonResponse({"outcome": "fallback", "path": file_path, "message": possible.notice}, status=409)
    limit = settings.MAX_UPLOAD_BYTES
    try:
        size = int(request.POST.get("size", ""))
    except ValueError:
        return JsonResponse({"outcome": "failed", "path": file_path, "message": "Say the file's size."}, status=400)
    if limit and size > limit:
        message = f"The file is larger than this studio accepts ({limit} bytes at most)."
        return JsonResponse({"outcome": "failed", "path": file_path, "message": message}, status=413)
    grant = services.direct_transfer_grant(datastore=datastore, path=file_path, write=True, actor=request.actor)
    response = JsonResponse(
        {
            "url": grant.url,
            "expires_on": grant.expires_on.isoformat(),
            "block_size": datastore.backend.upload_block_size,
            "blocks_in_flight": DIRECT_BLOCKS_IN_FLIGHT,
            "content_type": guess_content_type(file_path),
            "path": clean_path(file_path),
        }
    )
    response["Cache-Control"] = "no-store"
    return response


@require_POST
def datastore_direct_outcome(request: HtmxHttpRequest, workspace_name: str, name: str, file_path: str) -> JsonResponse:
    """How the browser's direct upload of this file ended, for the audit log: the studio checks it
    against what storage holds before writing it down."""
    _workspace, datastore = _files_datastore(request, workspace_name, name, Need.CHANGE)
    try:
        size = int(request.POST.get("size", ""))
    except ValueError:
        return JsonResponse({"outcome": "failed", "path": file_path, "message": "Say the file's size."}, status=400)
    recorded = services.direct_upload_ended(
        datastore=datastore, path=file_path, claimed=request.POST.get("outcome", ""), size=size, actor=request.actor
    )
    return JsonResponse({"recorded": recorded, "path": clean_path(file_path)})


@require_POST
def datastore_cors_allow(request: HtmxHttpRequest, workspace_name: str, name: str) -> HttpResponse:
    """Add one rule for this studio's origin to the storage account's CORS rules (owners)."""
    workspace, datastore = _files_datastore(request, workspace_name, name, Need.MANAGE)
    if not (
        datastore.backend.capabilities.browser_direct_transfers
        and datastore.backend.cors_editable(datastore.connection())
    ):
        raise Conflict("This datastore's credential cannot change the storage account's CORS rules.")
    origin = studio_origin(request)
    if services.datastore_cors_allow(datastore=datastore, origin=origin, actor=request.actor):
        messages.success(
            request, f"The storage account's CORS rules now allow {origin}: uploads go straight to storage."
        )
    else:
        messages.success(request, f"The storage account's CORS rules already allowed {origin}.")
    return redirect(_browse_url(workspace, datastore, clean_path(request.POST.get("path", ""))))


@require_http_methods(["GET", "PUT"])
def datastore_file(request: HtmxHttpRequest, workspace_name: str, name: str, file_path: str) -> HttpResponseBase:
    """GET streams a file down; PUT streams the request body up into it."""
    need = Need.CHANGE if request.method == "PUT" else Need.VIEW
    _workspace, datastore = _files_datastore(request, workspace_name, name, need)
    if request.method == "PUT":
        return _upload(request, datastore, file_path)
    if request.GET.get("direct") == "1" and selectors.direct_transfer_possible(datastore).available:
        grant = services.direct_transfer_grant(datastore=datastore, path=file_path, write=False, actor=request.actor)
        redirected = HttpResponseRedirect(grant.url)
        redirected["Cache-Control"] = "no-store"
        redirected["Referrer-Policy"] = "no-referrer"
        return redirected
    download = selectors.file_download(datastore, file_path, actor=request.actor)
    response = StreamingHttpResponse(download.chunks, content_type=download.content_type)
    response["Content-Disposition"] = content_disposition_header(True, safe_filename(download.name))
    if download.size is not None:
        response["Content-Length"] = str(download.size)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


def _upload(request: HtmxHttpRequest, datastore: Datastore, path: str) -> JsonResponse:
    try:
        size = int(request.META.get("CONTENT_LENGTH") or "")
    except ValueError:
        return JsonResponse(
            {"outcome": "failed", "path": path, "message": "The upload has no Content-Length."}, status=411
        )
    limit = settings.MAX_UPLOAD_BYTES
    if limit and size > limit:  # answered before a byte of the body is read
        message = f"The file is larger than this studio accepts ({limit} bytes at most)."
        return JsonResponse({"outcome": "failed", "path": path, "message": message}, status=413)
    content_type = request.META.get("CONTENT_TYPE", "")
    outcome = services.file_upload(
        datastore=datastore,
        path=path,
        chunks=request_chunks(request, size, datastore.backend.upload_block_size),
        overwrite=request.GET.get("overwrite") == "1",
        content_type="" if content_type in ("", "application/octet-stream") else content_type,
        size=size,
        actor=request.actor,
    )
    return JsonResponse({"outcome": str(outcome), "path": path})


@require_GET
def datastore_folder_zip(request: HtmxHttpRequest, workspace_name: str, name: str) -> HttpResponseBase:
    """A folder as a zip, built and streamed on the fly: memory stays bounded whatever its size.
    Above JOB_ZIP_FILE_THRESHOLD files or JOB_ZIP_BYTES_THRESHOLD bytes the page offers to build
    it in the background instead (jobs/), for the Jobs tab to offer once it is whole."""
    workspace, datastore = _files_datastore(request, workspace_name, name)
    folder = clean_path(request.GET.get("path", ""))
    if selectors.zip_in_background(datastore, folder):
        return _zip_in_background(request, workspace, datastore, folder, [])
    folder = selectors.folder_zip_started(datastore, folder, actor=request.actor)
    entries = selectors.folder_files(datastore, folder)
    return zip_response(datastore, entries, folder, zip_name(datastore, folder))


@require_POST
def datastore_selection_zip(request: HtmxHttpRequest, workspace_name: str, name: str) -> HttpResponseBase:
    """The files ticked in a folder, as one zip named after the folder (more than
    JOB_ZIP_FILE_THRESHOLD of them: built in the background, as a big folder's)."""
    workspace, datastore = _files_datastore(request, workspace_name, name)
    folder = clean_path(request.POST.get("folder", ""))
    chosen = selectors.chosen_files(request.POST.getlist("path"), folder)
    if len(chosen) > settings.JOB_ZIP_FILE_THRESHOLD:
        return _zip_in_background(request, workspace, datastore, folder, chosen)
    selectors.selection_zip_started(datastore, chosen, actor=request.actor)
    entries = (Entry(name=name_of(path), path=path, is_folder=False) for path in chosen)
    return zip_response(datastore, entries, folder, zip_name(datastore, folder, selection=True))


def _zip_in_background(
    request: HtmxHttpRequest, workspace: Workspace, datastore: Datastore, folder: str, chosen: list[str]
) -> HttpResponse:
    """The page that offers a big zip as a background job (the job's view starts it)."""
    context = {
        "workspace": workspace,
        "datastore": datastore,
        "folder": folder,
        "chosen": chosen,
        "parent_folder": parent(folder),
        "file_threshold": settings.JOB_ZIP_FILE_THRESHOLD,
        "bytes_threshold": settings.JOB_ZIP_BYTES_THRESHOLD,
        "result_hours": settings.JOB_RESULT_HOURS,
    }
    return render(request, "datastores/folder_zip.html", context)


def _browse_url(workspace: Workspace, datastore: Datastore, folder: str) -> str:
    url = reverse("datastore_browse", args=[workspace.name, datastore.name])
    return f"{url}?{urlencode({'path': folder})}"


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


@require_POST
def datastore_delete_file(request: HtmxHttpRequest, workspace_name: str, name: str) -> HttpResponse:
    """Delete one file, or the several ticked in a folder."""
    workspace, datastore = _files_datastore(request, workspace_name, name, Need.CHANGE)
    chosen = request.POST.getlist("path")
    deleted = services.files_delete(datastore=datastore, paths=chosen, actor=request.actor)
    folder = clean_path(request.POST.get("folder", "")) if "folder" in request.POST else parent(deleted[0])
    text = f"Deleted {deleted[0]}." if len(deleted) == 1 else f"Deleted {_plural(len(deleted), 'file')}."
    messages.success(request, text)
    return redirect(_browse_url(workspace, datastore, folder))


@require_http_methods(["GET", "POST"])
def datastore_delete_folder(request: HtmxHttpRequest, workspace_name: str, name: str) -> HttpResponse:
    """GET asks, saying how many files go; POST deletes the folder with everything in it."""
    workspace, datastore = _files_datastore(request, workspace_name, name, Need.CHANGE)
    folder = clean_path(request.POST.get("path", "") if request.method == "POST" else request.GET.get("path", ""))
    if not folder:
        raise InvalidInput("The datastore's root folder cannot be deleted.")
    if request.method == "POST":
        services.folder_delete(datastore=datastore, path=folder, actor=request.actor)
        messages.success(request, f"Deleted the folder {folder} and everything in it.")
        return redirect(_browse_url(workspace, datastore, parent(folder)))
    count, more = selectors.folder_file_count(datastore, folder)
    context = {
        "workspace": workspace,
        "datastore": datastore,
        "folder": folder,
        "count": count,
        "more": more,
        "parent_folder": parent(folder),
        # Above the threshold the page deletes it as a background job (jobs/), which resumes if cut off.
        "in_background": more or count > settings.JOB_FOLDER_DELETE_THRESHOLD,
    }
    return render(request, "datastores/folder_delete.html", context)


@require_http_methods(["GET", "POST"])
def datastore_move(request: HtmxHttpRequest, workspace_name: str, name: str) -> HttpResponse:
    """Rename or move a file or folder within the datastore."""
    workspace, datastore = _files_datastore(request, workspace_name, name, Need.CHANGE)
    if not datastore.backend.capabilities.move:
        raise Http404("This storage type cannot move files.")
    data = request.POST if request.method == "POST" else request.GET
    source = clean_path(data.get("path", ""))
    is_folder = data.get("folder") == "1"
    destination = data.get("destination", source)
    error = ""
    if request.method == "POST":
        try:
            moved = services.file_move(
                datastore=datastore, source=source, destination=destination, is_folder=is_folder, actor=request.actor
            )
        except (InvalidInput, Conflict) as refused:  # the form's own answer: type another path
            error = refused.message
        else:
            messages.success(request, f"Moved {source} to {moved}.")
            return redirect(_browse_url(workspace, datastore, parent(moved)))
    context = {
        "workspace": workspace,
        "datastore": datastore,
        "source": source,
        "is_folder": is_folder,
        "destination": destination,
        "error": error,
        "parent_folder": parent(source),
    }
    return render(request, "datastores/move.html", context, status=400 if error else 200)


@require_POST
def datastore_new_folder(request: HtmxHttpRequest, workspace_name: str, name: str) -> HttpResponse:
    workspace, datastore = _files_datastore(request, workspace_name, name, Need.CHANGE)
    if not datastore.backend.capabilities.upload:
        raise Http404("This storage type takes no new files or folders.")
    folder = services.folder_create(
        datastore=datastore,
        parent=request.POST.get("path", ""),
        name=request.POST.get("folder_name", ""),
        actor=request.actor,
    )
    if datastore.backend.capabilities.folders:
        messages.success(request, f"Created the folder {folder}.")
    else:
        messages.success(
            request,
            f"Folder {folder} is ready to upload into. In {datastore.backend.label} a folder is part of its files' "
            "names, so it shows in listings once a file lands in it (as in Azure Storage Explorer).",
        )
    return redirect(_browse_url(workspace, datastore, folder))


@require_GET
def datastore_preview(request: HtmxHttpRequest, workspace_name: str, name: str) -> HttpResponse:
    """A file's properties, and a look inside it (previews.py) without downloading it."""
    workspace, datastore = _files_datastore(request, workspace_name, name)
    if not datastore.backend.capabilities.properties:
        raise Http404("This storage type shows no file properties.")
    properties, preview = selectors.file_preview(datastore, request.GET.get("path", ""), actor=request.actor)
    context = {
        "workspace": workspace,
        "datastore": datastore,
        "file": properties,
        "preview": preview,
        "crumbs": breadcrumbs(parent(properties.path)),
        "parent_folder": parent(properties.path),
    }
    return render(request, "datastores/preview.html", context)


@require_GET
def datastore_preview_image(request: HtmxHttpRequest, workspace_name: str, name: str) -> HttpResponseBase:
    """An image for the preview page: served as the type its extension names (never the stored
    type, never SVG), with nosniff and a sandbox, and only up to IMAGE_LIMIT."""
    _workspace, datastore = _files_datastore(request, workspace_name, name)
    path = clean_path(request.GET.get("path", ""))
    image_type = IMAGE_TYPES.get(extension(path))
    if not image_type:
        raise InvalidInput("Only PNG, JPEG, GIF, WebP, BMP and AVIF images are shown inline.")
    download = selectors.file_download(datastore, path, actor=request.actor)
    if download.size is None or download.size > IMAGE_LIMIT:
        raise InvalidInput("This image is too large to show: download it.")
    response = StreamingHttpResponse(download.chunks, content_type=image_type)
    response["Content-Length"] = str(download.size)
    # Never None: the header is left out only for an empty name, and safe_filename never gives one.
    response["Content-Disposition"] = cast(str, content_disposition_header(False, safe_filename(download.name)))
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, no-store"
    return response
