"""A workspace's Members tab (owners manage who may do what) and its Activity tab (the audit log)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

from django import forms
from django.contrib import messages
from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from . import audit, services
from .access import Need
from .audit import AuditAction, AuditFilter
from .models import Membership, Role, Workspace
from .views import HtmxHttpRequest, _workspace

ACTIVITY_PAGE_SIZE = 50
CSV_BATCH = 2000


class MemberAddForm(forms.Form):
    who = forms.CharField(label="Username or email", max_length=254)
    role = forms.ChoiceField(label="Role", choices=Role.choices, initial=Role.READER)


class MemberRoleForm(forms.Form):
    role = forms.ChoiceField(label="Role", choices=Role.choices)


class ActivityFilterForm(forms.Form):
    actor = forms.CharField(label="User", required=False, max_length=150)
    datastore = forms.CharField(label="Datastore", required=False, max_length=255)
    action = forms.ChoiceField(label="Action", required=False, choices=[("", "Any action"), *AuditAction.choices])


def _membership(workspace: Workspace, username: str) -> Membership:
    membership = Membership.objects.select_related("user").filter(workspace=workspace, user__username=username).first()
    if membership is None:
        raise Http404("No such member.")
    return membership


def _members_page(
    request: HtmxHttpRequest, workspace: Workspace, add_form: MemberAddForm, status: int = 200
) -> HttpResponse:
    members = Membership.objects.filter(workspace=workspace).select_related("user", "added_by")
    context = {
        "workspace": workspace,
        "members": [
            (member, MemberRoleForm(initial={"role": member.role}, prefix=str(member.pk))) for member in members
        ],
        "add_form": add_form,
    }
    template = "workspaces/members.html" + ("#members" if request.htmx else "")
    return render(request, template, context, status=status)


@require_http_methods(["GET", "POST"])
def workspace_members(request: HtmxHttpRequest, workspace_name: str) -> HttpResponse:
    """The members and their roles; a POST adds one."""
    workspace = _workspace(request, workspace_name, Need.MANAGE)
    form = MemberAddForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            added = services.member_add(
                actor=request.actor,
                workspace=workspace,
                who=form.cleaned_data["who"],
                role=Role(form.cleaned_data["role"]),
            )
        except services.MembershipRefused as refused:
            form.add_error("who", refused.message)
        else:
            messages.success(
                request, f"{added.user.get_username()} is now a {added.get_role_display().lower()} of {workspace.name}."
            )
            if not request.htmx:
                return redirect("workspace_members", workspace_name=workspace.name)
            form = MemberAddForm()
    return _members_page(request, workspace, form, status=400 if form.errors else 200)


@require_POST
def workspace_member_role(request: HtmxHttpRequest, workspace_name: str, username: str) -> HttpResponse:
    workspace = _workspace(request, workspace_name, Need.MANAGE)
    membership = _membership(workspace, username)
    form = MemberRoleForm(request.POST, prefix=str(membership.pk))
    if form.is_valid():
        try:
            services.member_change_role(
                actor=request.actor, membership=membership, role=Role(form.cleaned_data["role"])
            )
        except services.MembershipRefused as refused:
            messages.error(request, refused.message)
        else:
            messages.success(request, f"{username} is now a {Role(form.cleaned_data['role']).label.lower()}.")
    if request.htmx:
        return _members_page(request, workspace, MemberAddForm())
    return redirect("workspace_members", workspace_name=workspace.name)


@require_http_methods(["GET", "POST"])
def workspace_member_remove(request: HtmxHttpRequest, workspace_name: str, username: str) -> HttpResponse:
    """GET asks for confirmation; POST removes the member."""
    workspace = _workspace(request, workspace_name, Need.MANAGE)
    membership = _membership(workspace, username)
    if request.method == "POST":
        try:
            services.member_remove(actor=request.actor, membership=membership)
        except services.MembershipRefused as refused:
            messages.error(request, refused.message)
        else:
            messages.success(request, f"{username} was removed from {workspace.name}.")
        return redirect("workspace_members", workspace_name=workspace.name)
    return render(request, "workspaces/member_remove.html", {"workspace": workspace, "membership": membership})


def _activity_filter(request: HtmxHttpRequest) -> tuple[ActivityFilterForm, AuditFilter]:
    form = ActivityFilterForm(request.GET or None)
    chosen = AuditFilter(**form.cleaned_data) if form.is_valid() else AuditFilter()
    return form, chosen


def _cursor(raw: str | None) -> int | None:
    try:
        return int(raw) if raw else None
    except ValueError:
        return None


@require_GET
def workspace_activity(request: HtmxHttpRequest, workspace_name: str) -> HttpResponse:
    """Newest first: everyone's entries for owners, one's own for everyone else."""
    workspace = _workspace(request, workspace_name, Need.VIEW)
    form, chosen = _activity_filter(request)
    found = audit.entries(workspace, request.actor, everyone=request.can.manage, chosen=chosen)
    page, next_cursor = audit.page_of(found, before=_cursor(request.GET.get("before")), size=ACTIVITY_PAGE_SIZE)
    query = request.GET.copy()
    query.pop("before", None)
    filter_query = query.urlencode()
    if next_cursor is not None:
        query["before"] = str(next_cursor)
    context: dict[str, Any] = {
        "workspace": workspace,
        "form": form,
        "entries": page,
        "next_page_query": query.urlencode() if next_cursor is not None else "",
        "filter_query": filter_query,
        "everyone": request.can.manage,
    }
    template = "workspaces/activity.html"
    if request.htmx and request.GET.get("before"):
        template += "#more-entries"
    elif request.htmx:
        template += "#entries"
    return render(request, template, context)


@require_GET
def workspace_activity_csv(request: HtmxHttpRequest, workspace_name: str) -> HttpResponseBase:
    workspace = _workspace(request, workspace_name, Need.VIEW)
    _form, chosen = _activity_filter(request)
    found = audit.entries(workspace, request.actor, everyone=request.can.manage, chosen=chosen)

    def rows() -> Iterator[bytes]:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(
            ["when (UTC)", "user", "datastore", "action", "target", "outcome", "detail", "client address", "request id"]
        )
        before: int | None = None
        while True:
            page, before = audit.page_of(found, before=before, size=CSV_BATCH)
            for entry in page:
                writer.writerow(
                    [
                        entry.at.strftime("%Y-%m-%d %H:%M:%S"),
                        entry.actor_name,
                        entry.datastore_name,
                        entry.action,
                        entry.target,
                        entry.outcome,
                        entry.detail,
                        entry.client_address or "",
                        entry.request_id,
                    ]
                )
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
            if before is None:
                return

    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = content_disposition_header(
        as_attachment=True, filename=f"{workspace.name}-activity.csv"
    )
    return response
