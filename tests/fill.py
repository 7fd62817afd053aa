"""Filling a workspace with many datastores at once, for the list's tests and for the benchmarks
that time it (bench/datastore_list.py, bench/api_listing.py import this module too, so it needs
nothing but Django and the studio: no pytest, no fixture)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from datastores.models import Datastore, Workspace


def fill_datastores(
    workspace: Workspace,
    count: int,
    *,
    models: Sequence[Datastore] = (),
    each: Callable[[int], dict[str, Any]] | None = None,
    **fields: Any,
) -> None:
    """`count` more datastores named store00000, store00001, ... (numbered on from the store*
    ones already there), bulk-created copies of `models` in turn (default: the workspace's
    workspaceblobstore), with `fields`, and `each(number)`'s fields for each one."""
    models = list(models) or [workspace.datastores.get(name="workspaceblobstore")]
    start = workspace.datastores.filter(name__startswith="store").count()
    Datastore.objects.bulk_create(
        (
            Datastore(
                workspace=workspace,
                name=f"store{number:05d}",
                storage_type=model.storage_type,
                auth_type=model.auth_type,
                connection_settings=model.connection_settings,
                encrypted_secrets=model.encrypted_secrets,
                secrets_updated_at=model.secrets_updated_at,
                created_by_id=model.created_by_id,
                **fields,
                **(each(number) if each else {}),
            )
            for number in range(start, start + count)
            for model in [models[number % len(models)]]
        ),
        batch_size=2000,
    )
