"""Workspaces, by the names of Azure ML's SDK: ``Workspace.from_config()``, ``Workspace.get(name)``,
``ws.datastores``, ``ws.get_default_datastore()``, ``ws.set_default_datastore(name)``."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any
from urllib.parse import quote

from ._http import Api
from .config import Settings, resolve
from .datastore import Datastore
from .exceptions import ConfigurationError, DatastoreNotFound, WorkspaceNotFound

__all__ = ["Workspace"]

CONFIG_FILE = "config.json"


class Workspace:
    """A workspace of the studio, reached with a personal access token.

    ``Workspace(workspace_name="demo")`` needs no request; ``Workspace.get("demo")`` checks that it
    exists. The studio URL and token come from the arguments, the environment
    (``DATASTORE_STUDIO_URL``, ``DATASTORE_STUDIO_TOKEN``) or the file ``datastore-studio login``
    writes, in that order.

    :ivar name: the workspace's name.
    :ivar subscription_id: as in config.json (the studio's own, for Azure ML's SDK).
    :ivar resource_group: as in config.json.
    :ivar role: your role in it (``Owner``, ``Contributor``, ``Reader``), once fetched.
    """

    def __init__(
        self,
        subscription_id: str | None = None,
        resource_group: str | None = None,
        workspace_name: str | None = None,
        *,
        url: str | None = None,
        token: str | None = None,
        _api: Api | None = None,
        _data: dict[str, Any] | None = None,
    ) -> None:
        settings = _api.settings if _api is not None else resolve(url, token)
        name = workspace_name or settings.workspace
        if not name:
            raise ConfigurationError("Name the workspace: Workspace.get('name'), or set DATASTORE_STUDIO_WORKSPACE.")
        self._api = _api or Api(settings)
        self.name: str = name
        self.subscription_id = subscription_id
        self.resource_group = resource_group
        self.description: str = ""
        self.role: str | None = None
        if _data:
            self._load(_data)

    def _load(self, data: dict[str, Any]) -> None:
        self.name = data["name"]
        self.description = data.get("description", "")
        self.role = data.get("role")

    def __repr__(self) -> str:
        return f"Workspace(name={self.name!r}, studio={self._api.base_url!r})"

    @property
    def url(self) -> str:
        """The studio's base URL."""
        return self._api.base_url

    @property
    def _path(self) -> str:
        return f"workspaces/{quote(self.name, safe='')}"

    def as_dict(self) -> dict[str, Any]:
        """The workspace as plain JSON values."""
        return {"name": self.name, "description": self.description, "role": self.role}

    # --- finding workspaces -----------------------------------------------------------------

    @staticmethod
    def get(
        name: str,
        *,
        url: str | None = None,
        token: str | None = None,
        subscription_id: str | None = None,
        resource_group: str | None = None,
    ) -> Workspace:
        """The workspace of this name.

        :raises WorkspaceNotFound: when there is none visible to this token.
        """
        workspace = Workspace(subscription_id, resource_group, name, url=url, token=token)
        workspace._load(workspace._api.json("GET", workspace._path, not_found=WorkspaceNotFound))
        return workspace

    @staticmethod
    def list(*, url: str | None = None, token: str | None = None) -> dict[str, Workspace]:
        """Every workspace this token can see, by name."""
        api = Api(resolve(url, token))
        found = {}
        for item in api.pages("workspaces"):
            found[item["name"]] = Workspace(workspace_name=item["name"], _api=api, _data=item)
        return found

    @staticmethod
    def from_config(
        path: str | os.PathLike[str] | None = None,
        *,
        url: str | None = None,
        token: str | None = None,
        _file_name: str | None = None,
    ) -> Workspace:
        """The workspace named in a ``config.json`` (the one the studio's workspace page offers).

        :param path: the file, or a folder holding it (also looked for in its ``.azureml`` folder).
            Without it, the current folder and each of its parents are searched, as Azure ML does.
        :raises ConfigurationError: when no config file is found or it names no workspace.
        """
        found = _find_config(Path(path) if path is not None else None, _file_name or CONFIG_FILE)
        try:
            config = json.loads(found.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise ConfigurationError(f"Cannot read {found}: {error}") from None
        name = config.get("workspace_name") if isinstance(config, dict) else None
        if not name:
            raise ConfigurationError(f"{found} names no workspace_name.")
        return Workspace.get(
            name,
            url=url or config.get("studio_url"),
            token=token,
            subscription_id=config.get("subscription_id"),
            resource_group=config.get("resource_group"),
        )

    def write_config(self, path: str | os.PathLike[str] | None = None, file_name: str | None = None) -> Path:
        """Write ``config.json`` (subscription, resource group, workspace and studio URL) into
        ``path`` (the current folder by default); returns the file's path."""
        folder = Path(path or ".")
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / (file_name or CONFIG_FILE)
        body = {
            "subscription_id": self.subscription_id or "",
            "resource_group": self.resource_group or "",
            "workspace_name": self.name,
            "studio_url": self.url,
        }
        target.write_text(json.dumps(body, indent=2) + "\n", encoding="utf-8")
        return target

    # --- datastores --------------------------------------------------------------------------

    @property
    def datastores(self) -> dict[str, Datastore]:
        """Every datastore of the workspace, by name (fetched on each access)."""
        return {
            item["name"]: Datastore._from_api(self, item)
            for item in self._api.pages(self._path + "/datastores", not_found=WorkspaceNotFound)
        }

    def get_default_datastore(self) -> Datastore:
        """The workspace's default datastore.

        :raises DatastoreNotFound: when the workspace has none.
        """
        return Datastore._from_api(
            self, self._api.json("GET", self._path + "/default-datastore", not_found=DatastoreNotFound)
        )

    def set_default_datastore(self, name: str) -> None:
        """Make the datastore ``name`` the workspace default (a contributor's token is needed)."""
        self._api.json("PUT", self._path + "/default-datastore", json={"name": name}, not_found=DatastoreNotFound)

    def whoami(self) -> Settings:
        """The settings this workspace uses (the token shown as ***)."""
        return self._api.settings


def _find_config(path: Path | None, file_name: str) -> Path:
    if path is not None:
        if path.is_file():
            return path
        for candidate in (path / file_name, path / ".azureml" / file_name):
            if candidate.is_file():
                return candidate
        raise ConfigurationError(f"No {file_name} at {path}.")
    folder = Path.cwd()
    for directory in (folder, *folder.parents):
        for candidate in (directory / file_name, directory / ".azureml" / file_name):
            if candidate.is_file():
                return candidate
    raise ConfigurationError(
        f"No {file_name} in {folder} or its parents: download it from the studio's workspace page."
    )
