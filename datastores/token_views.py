"""The Tokens page (personal access tokens of the signed-in person) and a workspace's Scripts page
(config.json for azure-ai-ml's MLClient.from_config, and how to reach the studio from a script)."""

from __future__ import annotations

import json
from typing import Any, cast

from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from . import access, selectors, services, snippets
from .models import AccessToken, Workspace
from .views import HtmxHttpRequest, _workspace


class TokenForm(forms.Form):
    name = forms.CharField(label="Name", max_length=100, help_text="What uses it, e.g. the nightly training job.")
    workspaces = forms.ModelMultipleChoiceField(
        label="Only these workspaces",
        queryset=Workspace.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None ticked: every workspace you are a member of.",
    )
    read_only = forms.BooleanField(
        label="Read-only", required=False, help_text="It acts as a reader wherever you have a role."
    )

    def __init__(self, *args: Any, actor: access.Actor, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        limit = settings.API_TOKEN_MAX_DAYS  # read here, not at import, so the setting can change
        self.fields["expires_in_days"] = forms.IntegerField(
            label="Expires after (days)",
            min_value=1,
            max_value=limit,
            initial=min(30, limit),
            help_text=f"At most {limit} days.",
        )
        cast(forms.ModelMultipleChoiceField, self.fields["workspaces"]).queryset = selectors.workspace_list(actor)


@require_http_methods(["GET", "POST"])
def token_list(request: HtmxHttpRequest) -> HttpResponse:
    actor = access.actor_of(request)
    form = TokenForm(request.POST or None, actor=actor)
    created = None
    if request.method == "POST" and form.is_valid():
        try:
            token, raw = services.token_create(
                actor=actor,
                name=form.cleaned_data["name"],
                expires_in_days=form.cleaned_data["expires_in_days"],
                workspaces=form.cleaned_data["workspaces"],
                read_only=form.cleaned_data["read_only"],
            )
        except services.TokenRefused as refused:
            form.add_error(refused.field, refused.message)
        else:
            created = {"token": token, "raw": raw}  # shown on this response only, never again
            form = TokenForm(actor=actor)
    context = {
        "form": form,
        "created": created,
        "tokens": AccessToken.objects.filter(user=actor.user).prefetch_related("workspaces"),
    }
    response = render(request, "tokens/tokens.html", context, status=400 if form.errors else 200)
    response["Cache-Control"] = "no-store"  # the page that shows a new token is never cached
    return response


@require_POST
def token_revoke(request: HtmxHttpRequest, token_id: int) -> HttpResponse:
    actor = access.actor_of(request)  # signed in (LoginRequiredMiddleware), so never refused here
    token = AccessToken.objects.filter(user=actor.user, pk=token_id).first()
    if token is None:
        raise Http404("No such token.")
    services.token_revoke(actor=actor, token=token)
    messages.success(request, f"Token {token.name} revoked: it no longer works.")
    return redirect("token_list")


@require_GET
def workspace_scripts(request: HtmxHttpRequest, workspace_name: str) -> HttpResponse:
    workspace = _workspace(request, workspace_name)
    base_url = request.build_absolute_uri("/")
    context = {
        "workspace": workspace,
        "ml_client": snippets.ml_client(base_url, workspace.name),
        "curl": snippets.curl_workspace(base_url, workspace.name),
        "identity": snippets.identity(base_url),
        "config": json.dumps(snippets.config_json(workspace.name), indent=2),
    }
    return render(request, "workspaces/scripts.html", context)


@require_GET
def workspace_config_json(request: HttpRequest, workspace_name: str) -> HttpResponse:
    """The file `MLClient.from_config()` reads: this studio's subscription, resource group and workspace."""
    workspace = _workspace(request, workspace_name)  # type: ignore[arg-type]  # it reads no htmx detail
    response = HttpResponse(
        json.dumps(snippets.config_json(workspace.name), indent=2) + "\n", content_type="application/json"
    )
    response["Content-Disposition"] = content_disposition_header(True, "config.json")
    return response
