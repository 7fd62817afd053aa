"""The forms: one datastore form for every storage type and authentication type."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS
from django.forms import BoundField

from .models import Datastore, Workspace, validate_datastore_name, validate_workspace_name
from .selectors import Health
from .storage import BACKENDS, backend_for, storage_type_choices
from .storage.fields import SecretField


class DatastoreForm(forms.Form):
    """Registers a datastore, or (given `datastore`) updates its authentication.

    The storage type and the authentication type decide the fields: the form
    reads them from its data (or initial values) and adds that backend's fields,
    so an htmx swap re-renders the fields block from the chosen types.
    """

    name = forms.CharField(
        label="Datastore name",
        max_length=255,
        validators=[validate_datastore_name],
        help_text="Letters, digits and underscores, starting with a letter.",
    )
    storage_type = forms.ChoiceField(label="Storage type", choices=storage_type_choices)
    auth_type = forms.ChoiceField(label="Authentication type")
    overwrite = forms.BooleanField(
        label="Overwrite",
        required=False,
        help_text="Replace an existing datastore with the same name.",
    )

    def __init__(self, *args: Any, datastore: Datastore | None = None, swap_url: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.datastore = datastore
        if datastore is not None:
            # A datastore keeps its name and storage type; browsers do not send disabled fields.
            for name in ("name", "storage_type"):
                self.fields[name].disabled = True
        for name in ("storage_type", "auth_type"):
            # Changing either type re-renders the fields block from the same URL, keeping what was typed.
            self.fields[name].widget.attrs.update(
                {
                    "hx-get": swap_url,
                    "hx-include": "#datastore-form",
                    "hx-target": "#datastore-fields",
                    "hx-swap": "outerHTML",
                    # A quick second change aborts the first swap: the latest choice wins.
                    "hx-sync": "#datastore-form:replace",
                }
            )
        storage_type = self._chosen("storage_type")
        if storage_type not in BACKENDS:
            storage_type = next(iter(BACKENDS))
        self.backend = backend_for(storage_type)
        offered = self.backend.offered_auth_types
        auth_type = self._chosen("auth_type")
        if auth_type not in offered:
            auth_type = offered[0]
        self.initial.update(storage_type=storage_type, auth_type=auth_type)
        self.chosen_storage_type, self.chosen_auth_type = storage_type, auth_type
        self.auth_type_choices = [(str(choice.value), str(choice.label)) for choice in offered]
        self._auth_type_field.choices = self.auth_type_choices

        backend_fields = self.backend.form_fields(auth_type, updating=datastore is not None)
        if datastore is not None:
            del self.fields["overwrite"]
            for form_field in backend_fields.values():
                if isinstance(form_field, SecretField):
                    form_field.required = False
                    form_field.help_text = "Leave blank to keep the stored secret."
        overwrite = self.fields.pop("overwrite", None)
        self.fields.update(backend_fields)
        if overwrite is not None:
            self.fields["overwrite"] = overwrite
        self.backend_field_names = list(backend_fields)

    def _chosen(self, name: str) -> str:
        # An existing datastore keeps its storage type (the field is disabled, so never posted).
        fixed = self.fields[name].disabled or (self.datastore is not None and name == "storage_type")
        if self.is_bound and not fixed:
            return self.data.get(self.add_prefix(name), "")
        return str(self.initial.get(name, ""))

    @property
    def _auth_type_field(self) -> forms.ChoiceField:
        return cast(forms.ChoiceField, self.fields["auth_type"])

    @property
    def auth_type_label(self) -> str:
        return dict(self.auth_type_choices)[self.chosen_auth_type]

    @property
    def auth_explanation(self) -> str:
        """What the chosen authentication type means here (e.g. which identity the studio uses)."""
        return self.backend.auth_explanation(self.chosen_auth_type)

    @property
    def secret_field_names(self) -> list[str]:
        return [name for name in self.backend_field_names if isinstance(self.fields[name], SecretField)]

    def connection_fields(self) -> list[BoundField]:
        advanced = self.backend.advanced_fields
        return [self[name] for name in self.backend.connection_fields if name in self.fields and name not in advanced]

    def advanced_fields(self) -> list[BoundField]:
        return [self[name] for name in self.backend.advanced_fields if name in self.fields]

    def credential_fields(self) -> list[BoundField]:
        names = self.backend.auth_method(self.chosen_auth_type).fields
        return [self[name] for name in names]

    def option_fields(self) -> list[BoundField]:
        return [self[name] for name in self.backend.options if name in self.fields]

    def error_summary(self) -> list[tuple[str, str, str]]:
        """(control id, label, message) of every error, form-wide ones first, for the summary at the top."""
        found = [("", "", str(message)) for message in self.non_field_errors()]
        for name, messages in self.errors.items():
            if name != NON_FIELD_ERRORS and name in self.fields:
                found += [(self[name].id_for_label, str(self.fields[name].label), str(message)) for message in messages]
        return found

    def backend_values(self) -> dict:
        return {name: self.cleaned_data.get(name) for name in self.backend_field_names}


SHOWN_TYPE = "_shown_type"  # the storage type whose fields the page shows, sent along with a swap


def kept_on_swap(typed: Mapping[str, str]) -> dict[str, str]:
    """What a swap to another storage type keeps of the values on the page: those the person
    typed. A value still equal to the shown type's own default (its port, its endpoint) is
    dropped, so that the new type brings its own."""
    values = dict(typed.items())
    shown = values.pop(SHOWN_TYPE, "")
    if shown not in BACKENDS or shown == values.get("storage_type"):
        return values
    previous = BACKENDS[shown]
    for auth_type in previous.auth_types:
        for name, form_field in previous.form_fields(auth_type).items():
            if form_field.initial not in (None, "") and str(values.get(name, "")) == str(form_field.initial):
                values.pop(name, None)
    return values


class WorkspaceForm(forms.ModelForm):
    name = forms.CharField(label="Workspace name", max_length=33, validators=[validate_workspace_name])

    class Meta:
        model = Workspace
        fields = ["name", "description"]
        labels = {"description": "Description"}
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}


def _any(label: str, choices: Any) -> Any:
    """A filter's choices: "any" first, then the given ones (a callable stays lazy)."""
    return lambda: [("", label), *(choices() if callable(choices) else choices)]


class DatastoreFilterForm(forms.Form):
    """The datastore list's filters, read from the query string (an empty one filters nothing)."""

    name = forms.CharField(label="Name contains", required=False, max_length=255)
    storage_type = forms.ChoiceField(
        label="Storage type",
        required=False,
        choices=_any("Any storage type", storage_type_choices),
        error_messages={"invalid_choice": "Choose one of the storage types listed."},
    )
    health = forms.ChoiceField(
        label="Health",
        required=False,
        choices=_any("Any health", Health.choices),
        error_messages={"invalid_choice": "Choose Passed, Failed or Not checked yet."},
    )

    def chosen(self) -> dict[str, str]:
        """The filters for `selectors.datastore_list`; none when a value is invalid (the form says which)."""
        if not self.is_bound or not self.is_valid():
            return {}
        data = self.cleaned_data
        return {"search": data["name"].strip(), "storage_type": data["storage_type"], "health": data["health"]}

    @property
    def filtering(self) -> bool:
        return self.is_bound and any(self.data.get(name) for name in self.fields)
