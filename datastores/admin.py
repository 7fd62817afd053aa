"""Django's admin: administrators create users there and may look at workspaces, members and
the audit log. Audit entries are read-only, even for administrators."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from .models import AuditEntry, Membership, Workspace


class MembershipInline(admin.TabularInline):
    model = Membership
    fk_name = "workspace"
    extra = 0
    autocomplete_fields = ["user"]
    readonly_fields = ["added_by", "added_at"]


@admin.register(Workspace)
class WorkspaceAdmin(admin.ModelAdmin):
    list_display = ["name", "description", "created_by", "created_at"]
    search_fields = ["name"]
    readonly_fields = ["uid", "created_by", "created_at"]
    inlines = [MembershipInline]


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    list_display = [
        "at",
        "actor_name",
        "workspace_name",
        "datastore_name",
        "action",
        "target",
        "outcome",
        "client_address",
    ]
    list_filter = ["action", "outcome"]
    search_fields = ["actor_name", "workspace_name", "datastore_name", "target"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
