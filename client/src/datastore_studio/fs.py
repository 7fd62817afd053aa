"""``azureml://`` paths for pandas and every other fsspec user.

Installing the package registers this filesystem for the protocol ``azureml`` (entry point
``fsspec.specs``), so that with the studio URL and a token in the environment::

    pandas.read_csv("azureml://datastores/training/paths/data/train.csv")
    df.to_parquet("azureml://datastores/training/paths/out/result.parquet")

The long form ``azureml://subscriptions/<sub>/resourcegroups/<rg>/workspaces/<ws>/datastores/<name>/paths/<path>``
names the workspace; the short form takes it from ``DATASTORE_STUDIO_WORKSPACE``, the login file,
a ``config.json`` in the current folder or its parents, or the only workspace the token sees.

The datastore and a scoped SAS are resolved through the studio once and cached until shortly
before the SAS expires; the bytes then go through adlfs straight to Blob Storage (Blob and ADLS
Gen2 datastores). Writing asks for a writing SAS, which a reader's token does not get: that is
a ``PermissionError``.
"""

from __future__ import annotations

import re
import threading
import time
from typing import Any

from fsspec.spec import AbstractFileSystem

from .config import resolve
from .exceptions import ConfigurationError, DatastoreNotFound, WorkspaceNotFound

__all__ = ["AzureMLFileSystem", "parse_uri"]

SHORT = re.compile(r"^datastores/(?P<datastore>[^/]+)(?:/paths(?:/(?P<path>.*))?)?$")
LONG = re.compile(
    r"^subscriptions/(?P<subscription>[^/]+)/resourcegroups/(?P<group>[^/]+)/workspaces/(?P<workspace>[^/]+)/"
    r"datastores/(?P<datastore>[^/]+)(?:/paths(?:/(?P<path>.*))?)?$",
    re.IGNORECASE,
)
WRITE_MODES = set("wax+")


def parse_uri(path: str) -> tuple[str | None, str, str, str]:
    """(workspace or None, datastore, path inside it, the prefix up to ``/paths``) of an ``azureml://`` path.

    :raises ValueError: when the path has neither form.
    """
    bare = AzureMLFileSystem._strip_protocol(path)
    for pattern in (LONG, SHORT):
        match = pattern.match(bare)
        if match:
            found = match.groupdict()
            inner = (found.get("path") or "").strip("/")
            prefix = bare[: match.start("path") - 1] if found.get("path") is not None else bare.rstrip("/")
            if not prefix.endswith("/paths"):
                prefix += "/paths"
            return found.get("workspace"), found["datastore"], inner, prefix
    raise ValueError(
        f"Not an azureml:// datastore path: {path!r}. Use azureml://datastores/<name>/paths/<path> or "
        "azureml://subscriptions/<sub>/resourcegroups/<rg>/workspaces/<workspace>/datastores/<name>/paths/<path>."
    )


class _Resolved:
    def __init__(self, fs: Any, container: str, refresh_at: float, write: bool) -> None:
        self.fs, self.container, self.refresh_at, self.write = fs, container, refresh_at, write


class AzureMLFileSystem(AbstractFileSystem):
    """fsspec filesystem for ``azureml://`` datastore paths, reading and writing through adlfs.

    :param url: the studio URL (else ``DATASTORE_STUDIO_URL`` or the login file).
    :param token: a personal access token (else ``DATASTORE_STUDIO_TOKEN`` or the login file).
    :param workspace: the workspace for short paths (else found as the module says).
    """

    protocol = ("azureml",)
    root_marker = ""

    def __init__(
        self, url: str | None = None, token: str | None = None, workspace: str | None = None, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self._url, self._token, self._workspace = url, token, workspace
        self._workspaces: dict[str | None, Any] = {}
        self._resolved: dict[tuple[str, str, bool], _Resolved] = {}
        self._lock = threading.Lock()

    @classmethod
    def _strip_protocol(cls, path: Any) -> str:
        if isinstance(path, list | tuple):
            return [cls._strip_protocol(item) for item in path]  # type: ignore[return-value]
        text = str(path)
        if text.startswith("azureml://"):
            text = text[len("azureml://") :]
        elif text.startswith("azureml:"):
            text = text[len("azureml:") :]
        return text.strip("/")

    @staticmethod
    def _get_kwargs_from_urls(path: str) -> dict[str, Any]:
        return {}

    def unstrip_protocol(self, name: str) -> str:
        """The full ``azureml://`` form of a path."""
        return "azureml://" + self._strip_protocol(name)

    # --- resolving a path to adlfs ---------------------------------------------------------------

    def _workspace_for(self, name: str | None) -> Any:
        from .workspace import Workspace

        with self._lock:
            if name in self._workspaces:
                return self._workspaces[name]
        settings = resolve(self._url, self._token, self._workspace)
        chosen = name or settings.workspace
        if not chosen:
            try:
                chosen = Workspace.from_config(url=settings.url, token=settings.token).name
            except ConfigurationError:
                visible = Workspace.list(url=settings.url, token=settings.token)
                if len(visible) != 1:
                    raise ConfigurationError(
                        "Which workspace? Set DATASTORE_STUDIO_WORKSPACE, put a config.json beside the script, or use "
                        "the long form azureml://subscriptions/.../workspaces/<workspace>/datastores/<name>/paths/<path>."
                    ) from None
                chosen = next(iter(visible))
        workspace = Workspace(workspace_name=chosen, url=settings.url, token=settings.token)
        with self._lock:
            self._workspaces[name] = workspace
        return workspace

    def _target(self, path: str, *, write: bool) -> tuple[_Resolved, str, str]:
        """(the adlfs filesystem and container, the path inside it, the azureml prefix) for a path."""
        workspace_name, datastore_name, inner, prefix = parse_uri(path)
        key = (workspace_name or "", datastore_name, write)
        with self._lock:
            cached = self._resolved.get(key) or (None if write else self._resolved.get((key[0], key[1], True)))
        if cached is None or time.time() >= cached.refresh_at:
            cached = self._resolve(workspace_name, datastore_name, write)
            with self._lock:
                self._resolved[key] = cached
        return cached, f"{cached.container}/{inner}" if inner else cached.container, prefix

    def _resolve(self, workspace_name: str | None, datastore_name: str, write: bool) -> _Resolved:
        from adlfs import AzureBlobFileSystem

        from .datastore import Datastore
        from .transfer import _timestamp, credential_fetcher

        workspace = self._workspace_for(workspace_name)
        try:
            datastore = Datastore.get(workspace, datastore_name)
        except (DatastoreNotFound, WorkspaceNotFound) as error:
            raise FileNotFoundError(error.message) from None
        if not datastore.capabilities.get("blob_protocol_paths"):  # the studio declares where adlfs can go
            raise NotImplementedError(
                "azureml:// paths reach Blob and ADLS Gen2 datastores; "
                f"{datastore.name} is {datastore.storage_type_label}: "
                "use Datastore.download and Datastore.upload for it."
            )
        credential = credential_fetcher(datastore, write=write)()
        account_url, _, container = credential["resource_url"].rstrip("/").rpartition("/")
        account_url = account_url.replace(".dfs.", ".blob.", 1)  # adlfs speaks to the blob endpoint (Gen2 too)
        connection_string = f"BlobEndpoint={account_url};SharedAccessSignature={credential['sas_token'].lstrip('?')}"
        inner = AzureBlobFileSystem(
            connection_string=connection_string, assume_container_exists=True, skip_instance_cache=True
        )
        expires = _timestamp(credential["expires_on"])
        lifetime = max(expires - time.time(), 0.0)
        refresh_at = float("inf") if credential.get("stored") else expires - max(30.0, min(300.0, lifetime / 5))
        return _Resolved(inner, container, refresh_at, write)

    def _outer(self, name: str, resolved: _Resolved, prefix: str) -> str:
        inner = name.strip("/")
        inner = inner[len(resolved.container) :].lstrip("/") if inner.startswith(resolved.container) else inner
        return f"{prefix}/{inner}" if inner else prefix

    def _outer_info(self, info: dict[str, Any], resolved: _Resolved, prefix: str) -> dict[str, Any]:
        return {**info, "name": self._outer(info["name"], resolved, prefix)}

    # --- the filesystem -------------------------------------------------------------------------------

    def ls(self, path: str, detail: bool = True, **kwargs: Any) -> list[Any]:
        """The entries directly in a folder."""
        resolved, inner, prefix = self._target(path, write=False)
        found = resolved.fs.ls(inner, detail=True, **kwargs)
        entries = [self._outer_info(entry, resolved, prefix) for entry in found]
        return entries if detail else [entry["name"] for entry in entries]

    def info(self, path: str, **kwargs: Any) -> dict[str, Any]:
        """Size, type and name of one path."""
        resolved, inner, prefix = self._target(path, write=False)
        return self._outer_info(resolved.fs.info(inner, **kwargs), resolved, prefix)

    def _open(
        self,
        path: str,
        mode: str = "rb",
        block_size: Any = None,
        autocommit: bool = True,
        cache_options: Any = None,
        **kwargs: Any,
    ) -> Any:
        resolved, inner, _prefix = self._target(path, write=bool(WRITE_MODES & set(mode)))
        return resolved.fs._open(
            inner, mode=mode, block_size=block_size, autocommit=autocommit, cache_options=cache_options, **kwargs
        )

    def cat_file(self, path: str, start: int | None = None, end: int | None = None, **kwargs: Any) -> bytes:
        """A file's bytes (or a range of them)."""
        resolved, inner, _prefix = self._target(path, write=False)
        data: bytes = resolved.fs.cat_file(inner, start=start, end=end, **kwargs)
        return data

    def pipe_file(self, path: str, value: bytes, **kwargs: Any) -> None:
        """Write a whole file from bytes."""
        resolved, inner, _prefix = self._target(path, write=True)
        resolved.fs.pipe_file(inner, value, **kwargs)

    def rm_file(self, path: str) -> None:
        """Delete one file."""
        resolved, inner, _prefix = self._target(path, write=True)
        resolved.fs.rm_file(inner)

    def rm(self, path: Any, recursive: bool = False, maxdepth: int | None = None) -> None:
        """Delete files (a folder's too, with ``recursive``)."""
        for item in [path] if isinstance(path, str) else list(path):
            resolved, inner, _prefix = self._target(item, write=True)
            resolved.fs.rm(inner, recursive=recursive, maxdepth=maxdepth)

    def mkdir(self, path: str, create_parents: bool = True, **kwargs: Any) -> None:
        """Folders exist through their files in Blob Storage: nothing to do."""

    def makedirs(self, path: str, exist_ok: bool = False) -> None:
        """Folders exist through their files in Blob Storage: nothing to do."""

    def invalidate_cache(self, path: str | None = None) -> None:
        """Forget listings adlfs cached."""
        for resolved in list(self._resolved.values()):
            resolved.fs.invalidate_cache()
