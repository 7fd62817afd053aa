"""The Jobs tab of a workspace, the copy form, and "Test all"; thin, as everywhere."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from datastores import selectors as datastore_selectors
from datastores.access import Need
from datastores.audit import AuditAction, record
from datastores.file_views import _files_datastore
from datastores.storage import InvalidInput
from datastores.storage.paths import clean_path, parent
from datastores.views import HtmxHttpRequest, _workspace

from . import selectors, services
from .forms import CopyForm


@require_GET
def job_list(request: HtmxHttpRequest, workspace_name: str) -> HttpResponse:
    workspace = _workspace(request, workspace_name)
    rows = selectors.jobs_page(workspace, request.actor, request.can)
    context = {"workspace": workspace, "rows": rows, "polling": selectors.any_active(rows)}
    template = "jobs/jobs.html"
    if request.htmx and request.htmx.target == "jobs":
        template += "#jobs"
    return render(request, template, context)


@require_POST
def job_cancel(request: HtmxHttpRequest, workspace_name: str, job_id: int) -> HttpResponse:
    workspace = _workspace(request, workspace_name)
    job = get_object_or_404(selectors.jobs_of(workspace), pk=job_id)
    try:
        job = services.job_cancel(actor=request.actor, job=job, can=request.can)
    except services.JobRefused as refused:
        messages.error(request, refused.message)
    else:
        messages.success(request, f"{job} {'is cancelled' if not job.is_active else 'stops before its next file'}.")
    return redirect("job_list", workspace_name=workspace.name)


@require_POST
def datastores_test_all(request: HtmxHttpRequest, workspace_name: str) -> HttpResponse:
    workspace = _workspace(request, workspace_name, Need.CHANGE)
    try:
        job = services.health_start(workspace=workspace, actor=request.actor)
    except services.JobRefused as refused:
        messages.error(request, refused.message)
        return redirect("datastore_list", workspace_name=workspace.name)
    messages.success(
        request, f"Testing every datastore in the background ({job}); the health column fills in as it goes."
    )
    return redirect("job_list", workspace_name=workspace.name)


@require_POST
def datastore_delete_folder_job(request: HtmxHttpRequest, workspace_name: str, name: str) -> HttpResponse:
    """Delete a big folder in the background (the Delete folder page offers it above
    JOB_FOLDER_DELETE_THRESHOLD files)."""
    workspace, datastore = _files_datastore(request, workspace_name, name, Need.CHANGE)
    if not datastore.backend.capabilities.delete_folders:
        raise Http404("This storage type cannot delete folders.")
    job = services.folder_delete_start(actor=request.actor, datastore=datastore, path=request.POST.get("path", ""))
    messages.success(request, f"Deleting the folder {job.source_path} in the background ({job}).")
    return redirect("job_list", workspace_name=workspace.name)


@require_POST
def datastore_zip_job(request: HtmxHttpRequest, workspace_name: str, name: str) -> HttpResponse:
    """Build a big folder's zip (or that of many ticked files) in the background (the zip page
    offers it above JOB_ZIP_FILE_THRESHOLD files or JOB_ZIP_BYTES_THRESHOLD bytes)."""
    workspace, datastore = _files_datastore(request, workspace_name, name)
    folder = clean_path(request.POST.get("folder", ""))
    chosen = None
    if request.POST.get("selection") == "1":
        chosen = datastore_selectors.chosen_files(request.POST.getlist("path"), folder)
    job = services.zip_start(actor=request.actor, datastore=datastore, folder=folder, chosen=chosen)
    messages.success(
        request, f"Zipping {folder or 'the whole datastore'} in the background ({job}): download it here when done."
    )
    return redirect("job_list", workspace_name=workspace.name)


@require_GET
def job_result(request: HtmxHttpRequest, workspace_name: str, job_id: int) -> FileResponse:
    """A finished zip job's zip, for its starter or a reader of its datastore; audited as the
    zip streamed by the pages is."""
    workspace = _workspace(request, workspace_name)
    job = selectors.job_result(request.actor, workspace, job_id)
    assert job.source is not None  # may_download saw it
    record(
        request.actor,
        AuditAction.FOLDER_ZIPPED if job.source_is_folder else AuditAction.SELECTION_ZIPPED,
        workspace=job.source.workspace,
        datastore=job.source.name,
        target=job.source_path or "/",
        detail=f"job {job.pk}: {job.items_total or 0} file(s), built in the background",
    )
    try:
        result = default_storage.open(job.result_name, "rb")
    except FileNotFoundError:  # deleted from the storage behind the studio's back
        raise Http404("There is no zip of this job to download.") from None
    response = FileResponse(
        result,
        as_attachment=True,
        filename=job.result_filename or "download.zip",
        content_type="application/zip",
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


@require_http_methods(["GET", "POST"])
def datastore_copy(request: HtmxHttpRequest, workspace_name: str, name: str) -> HttpResponse:
    """Copy a file or a folder of this datastore (read) into another datastore (contributor)."""
    workspace, datastore = _files_datastore(request, workspace_name, name, Need.VIEW)
    data = request.POST if request.method == "POST" else request.GET
    source = clean_path(data.get("path", ""))
    is_folder = data.get("folder") == "1" or not source
    targets = selectors.copy_targets(request.actor)
    form = CopyForm(request.POST if request.method == "POST" else None, targets=targets)
    if request.method == "POST" and form.is_valid():
        try:
            job = services.copy_start(
                actor=request.actor,
                source=datastore,
                source_path=source,
                is_folder=is_folder,
                target_choice=form.cleaned_data["target"],
                target_path=form.cleaned_data["target_path"],
                overwrite=form.cleaned_data["overwrite"],
            )
        except InvalidInput as refused:
            form.add_error(refused.field if refused.field in form.fields else None, refused.message)
        else:
            messages.success(request, f"Copying {source or 'the whole datastore'} in the background ({job}).")
            return redirect("job_list", workspace_name=workspace.name)
    back = reverse("datastore_browse", args=[workspace.name, datastore.name])
    context = {
        "workspace": workspace,
        "datastore": datastore,
        "form": form,
        "source": source,
        "is_folder": is_folder,
        "has_targets": bool(targets),
        "back_url": f"{back}?{urlencode({'path': source if is_folder else parent(source)})}",
    }
    return render(request, "jobs/copy.html", context, status=400 if form.errors else 200)
