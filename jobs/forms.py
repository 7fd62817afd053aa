from __future__ import annotations

from typing import Any

from django import forms

from datastores.models import Datastore


class CopyForm(forms.Form):
    """Copy a file or folder to another datastore. The target's choices are only what the page
    offers: the service checks the chosen one through access.py whatever was posted."""

    target = forms.CharField(label="Target datastore", max_length=300, widget=forms.Select)
    target_path = forms.CharField(
        label="Target path",
        required=False,
        max_length=1024,
        help_text="The folder in the target datastore to copy into; empty: its root. "
        "The file or folder keeps its name there.",
    )
    overwrite = forms.BooleanField(
        label="Overwrite",
        required=False,
        help_text="Off: files already there are skipped and named. On: they are replaced.",
    )

    def __init__(self, *args: Any, targets: list[tuple[str, list[Datastore]]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        widget = self.fields["target"].widget
        assert isinstance(widget, forms.Select)
        widget.choices = [("", "Choose a datastore")] + [
            (workspace, [(f"{workspace}/{datastore.name}", datastore.name) for datastore in datastores])
            for workspace, datastores in targets
        ]
