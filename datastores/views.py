"""Thin views: parse the request, call a service or selector, render a page or a partial."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect
from django_htmx.middleware import HtmxDetails

from . import access, selectors, services, snippets
from .access import Actor, Need, Permissions
from .errors import fix_urls
from .forms import DatastoreFilterForm, DatastoreForm, WorkspaceForm, kept_on_swap
from .limits import limit_storage_checks
from .models import Datastore, Workspace
from .storage import StorageError

DATASTORE_PAGE_SIZE = 25  # rows a page of the datastore list


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails
    datastore: Datastore
    workspace: Workspace
    can: Permissions
    actor: Actor


def _remember_workspace(request: HtmxHttpRequest, workspace: Workspace) -> None:
    if request.session.get(selectors.SESSION_WORKSPACE_KEY) != workspace.pk:
        request.session[selectors.SESSION_WORKSPACE_KEY] = workspace.pk  # written only on a switch


def _workspace(request: HtmxHttpRequest, workspace_name: str, need: Need = Need.VIEW) -> Workspace:
    """The workspace a URL names, if the signed-in person may do `need` there (see access.py).
    What they may do is kept on the request, for the page's controls (`can` in templates)."""
    request.actor = access.actor_of(request)
    request.workspace, request.can = access.workspace_for(request.actor, workspace_name, need)
    _remember_workspace(request, request.workspace)
    return request.workspace


def _datastore(
    request: HtmxHttpRequest, workspace_name: str, name: str, need: Need = Need.VIEW
) -> tuple[Workspace, Datastore]:
    """The workspace and datastore a URL names, if the person may do `need` with it. The
    datastore is kept on the request, so that a storage error answers with its page (errors.py)."""
    request.actor = access.actor_of(request)
    request.datastore, request.can = access.datastore_for(request.actor, workspace_name, name, need)
    request.workspace = request.datastore.workspace
    _remember_workspace(request, request.workspace)
    return request.workspace, request.datastore


@require_GET
def home(request: HtmxHttpRequest) -> HttpResponse:
    workspace = selectors.workspace_current(request, access.actor_of(request))
    if workspace is None:
        return redirect("workspace_list")
    return redirect("datastore_list", workspace_name=workspace.name)


@require_http_methods(["GET", "POST"])
def workspace_list(request: HtmxHttpRequest) -> HttpResponse:
    actor = access.actor_of(request)
    form = WorkspaceForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            workspace = services.workspace_create(
                actor=actor, name=form.cleaned_data["name"], description=form.cleaned_data["description"]
            )
        except StorageError as failure:
            form.add_error(None, f"The workspace storage account could not be used: {failure.message}")
        else:
            messages.success(
                request, f"Workspace {workspace.name} created with workspaceblobstore and workspacefilestore."
            )
            return redirect("datastore_list", workspace_name=workspace.name)
    context = {"workspaces": selectors.workspace_list(actor), "form": form}
    return render(request, "workspaces/workspace_list.html", context)


@require_GET
def datastore_list(request: HtmxHttpRequest, workspace_name: str) -> HttpResponse:
    """One page of the workspace's datastores, filtered and counted in the database. Filter
    changes and page links swap the table alone (htmx); without JavaScript they are plain GETs."""
    workspace = _workspace(request, workspace_name)
    form = DatastoreFilterForm(request.GET or None)
    page = None
    if not form.errors:
        datastores = selectors.datastore_list(workspace, **form.chosen())
        page = selectors.datastore_page(datastores, request.GET.get("page"), DATASTORE_PAGE_SIZE)
    query = request.GET.copy()
    query.pop("page", None)
    context = {"workspace": workspace, "form": form, "page": page, "filter_query": query.urlencode()}
    template = "datastores/datastore_list.html"
    if request.htmx and request.htmx.target == "datastore-table":
        template += "#table"
    return render(request, template, context)


@sensitive_post_parameters()
@limit_storage_checks
@require_http_methods(["GET", "POST"])
def datastore_form(request: HtmxHttpRequest, workspace_name: str, name: str | None = None) -> HttpResponse:
    """Registers a new datastore, or (with `name`) updates its authentication."""
    if name:
        workspace, datastore = _datastore(request, workspace_name, name, Need.CHANGE)
    else:
        workspace, datastore = _workspace(request, workspace_name, Need.CHANGE), None
    initial = (
        {
            "name": datastore.name,
            "storage_type": datastore.storage_type,
            "auth_type": datastore.auth_type,
            **datastore.connection_settings,
        }
        if datastore
        else {}
    )
    if request.method == "POST" and "_refresh" not in request.POST:
        form = DatastoreForm(request.POST, initial=initial, datastore=datastore, swap_url=request.path)
        if form.is_valid() and _save_datastore(request, form, workspace, datastore):
            target = form.cleaned_data.get("name") or (datastore.name if datastore else "")
            return redirect("datastore_detail", workspace_name=workspace.name, name=target)
    else:
        # A swap (or the no-JavaScript refresh) renders the fields of the chosen types afresh,
        # keeping what was typed; secrets are never rendered back.
        typed = kept_on_swap((request.POST if request.method == "POST" else request.GET).dict())
        form = DatastoreForm(initial={**initial, **typed}, datastore=datastore, swap_url=request.path)
    context = {"workspace": workspace, "datastore": datastore, "form": form}
    template = "datastores/datastore_form.html"
    if request.htmx and request.method == "GET":
        template += "#fields"
    return render(request, template, context)


def _save_datastore(
    request: HtmxHttpRequest, form: DatastoreForm, workspace: Workspace, datastore: Datastore | None
) -> bool:
    try:
        if datastore is None:
            services.datastore_register(
                workspace=workspace,
                name=form.cleaned_data["name"],
                storage_type=form.chosen_storage_type,
                auth_type=form.chosen_auth_type,
                values=form.backend_values(),
                overwrite=form.cleaned_data["overwrite"],
                actor=request.actor,
            )
            messages.success(request, f"Datastore {form.cleaned_data['name']} registered.")
        else:
            services.datastore_update_auth(
                datastore=datastore, auth_type=form.chosen_auth_type, values=form.backend_values(), actor=request.actor
            )
            messages.success(request, f"Authentication of {datastore.name} updated.")
        return True
    except services.DatastoreNameTaken:
        form.add_error(
            "name", "A datastore with this name already exists in this workspace. Tick Overwrite to replace it."
        )
    except StorageError as failure:
        form.add_error(failure.field if failure.field in form.fields else None, failure.message)
    return False


@require_GET
def datastore_detail(request: HtmxHttpRequest, workspace_name: str, name: str) -> HttpResponse:
    workspace, datastore = _datastore(request, workspace_name, name)
    settings_rows = [
        (form_field.label, datastore.connection_settings.get(field_name))
        for field_name, form_field in datastore.backend.form_fields(datastore.auth_type).items()
        if field_name in datastore.connection_settings
    ]
    context = {
        "workspace": workspace,
        "datastore": datastore,
        "settings_rows": settings_rows,
        "secret_labels": [
            datastore.backend.form_fields(datastore.auth_type)[secret].label
            for secret in datastore.backend.secret_names(datastore.auth_type)
        ],
        "snippets": snippets.for_datastore(request.build_absolute_uri("/"), datastore),
    }
    return render(request, "datastores/datastore_detail.html", context)


@limit_storage_checks
@require_POST
def datastore_test_connection(request: HtmxHttpRequest, workspace_name: str, name: str) -> HttpResponse:
    workspace, datastore = _datastore(request, workspace_name, name, Need.CHANGE)
    result = services.datastore_test_connection(datastore, actor=request.actor, write=request.POST.get("write") == "1")
    if not request.htmx:
        (messages.success if result.ok else messages.error)(request, result.message)
        return redirect("datastore_detail", workspace_name=workspace.name, name=datastore.name)
    ways_out = fix_urls(request, result.failure) if result.failure else []
    context = {"result": result, "ways_out": [way for way in ways_out if "Overview" not in way[0]]}
    return render(request, "datastores/datastore_detail.html#test-result", context)


@require_POST
def datastore_set_default(request: HtmxHttpRequest, workspace_name: str, name: str) -> HttpResponse:
    workspace, datastore = _datastore(request, workspace_name, name, Need.CHANGE)
    services.datastore_set_default(datastore, actor=request.actor)
    messages.success(request, f"{datastore.name} is now the default datastore of {workspace.name}.")
    next_url = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
        next_url = reverse("datastore_list", args=[workspace.name])
    return redirect(next_url)


@require_http_methods(["GET", "POST"])
def datastore_unregister(request: HtmxHttpRequest, workspace_name: str, name: str) -> HttpResponse:
    workspace, datastore = _datastore(request, workspace_name, name, Need.MANAGE)
    if request.method == "POST":
        successor = services.datastore_unregister(datastore, actor=request.actor)
        text = f"Datastore {name} unregistered. Its data was not touched."
        if successor:
            text += f" {successor.name} is now the default datastore."
        messages.success(request, text)
        response_url = reverse("datastore_list", args=[workspace.name])
        return HttpResponseClientRedirect(response_url) if request.htmx else redirect(response_url)
    return render(request, "datastores/datastore_unregister.html", {"workspace": workspace, "datastore": datastore})
