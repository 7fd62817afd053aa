"""Datastores, by the names of Azure ML's SDK: ``Datastore.get``, the ``register_*`` calls,
``unregister``, ``update_authentication``, and on file datastores ``upload``, ``upload_files`` and
``download``.

The studio keeps the credentials: registering sends them once, and nothing here ever reads a
secret back. Transfers of Blob, File Share and ADLS Gen2 go straight to storage with a short-lived
SAS from the studio (see :mod:`datastore_studio.transfer`).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import quote

from .exceptions import Conflict, DatastoreExists, DatastoreNotFound, PathNotFound, ValidationFailed

if TYPE_CHECKING:
    from .transfer import TransferResult
    from .workspace import Workspace

__all__ = [
    "AzureBlobDatastore",
    "AzureDataLakeDatastore",
    "AzureDataLakeGen2Datastore",
    "AzureFileDatastore",
    "AzureMySqlDatastore",
    "AzurePostgreSqlDatastore",
    "AzureSqlDatabaseDatastore",
    "DBFSDatastore",
    "Datastore",
    "FileEntry",
    "TestResult",
]

CREDENTIAL_TYPES = {
    "account_key": "AccountKey",
    "sas_token": "Sas",
    "service_principal": "ServicePrincipal",
    "sql_authentication": "SqlAuthentication",
    "none": "None",
}


def _setting(name: str, doc: str) -> property:
    def read(self: Datastore) -> Any:
        return self.settings.get(name)

    return property(read, doc=doc)


def _body(**values: Any) -> dict[str, Any]:
    """A request body without the values left at None (the studio's defaults apply)."""
    return {key: value for key, value in values.items() if value is not None}


class FileEntry:
    """A file or folder in a datastore, as ``ls`` lists it."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.name: str = data["name"]
        self.path: str = data["path"]
        self.is_folder: bool = bool(data["is_folder"])
        self.size: int | None = data.get("size")
        self.last_modified: str | None = data.get("last_modified")
        self.content_type: str = data.get("content_type") or ""

    def as_dict(self) -> dict[str, Any]:
        """The entry as plain JSON values."""
        return {
            "name": self.name,
            "path": self.path,
            "is_folder": self.is_folder,
            "size": self.size,
            "last_modified": self.last_modified,
            "content_type": self.content_type,
        }

    def __repr__(self) -> str:
        return f"FileEntry({self.path!r}{', folder' if self.is_folder else f', {self.size} bytes'})"


class TestResult:
    """What Test connection found: ``ok``, ``message`` and each ability tried (``abilities``)."""

    __test__ = False  # not a pytest class

    def __init__(self, data: dict[str, Any]) -> None:
        self.ok: bool = bool(data["ok"])
        self.message: str = data.get("message", "")
        self.abilities: list[dict[str, Any]] = list(data.get("abilities", []))

    def as_dict(self) -> dict[str, Any]:
        """The result as plain JSON values."""
        return {"ok": self.ok, "message": self.message, "abilities": self.abilities}


class Datastore:
    """A datastore registered in a workspace.

    ``Datastore(workspace, name)`` (or ``Datastore.get(workspace, name)``) fetches one;
    ``Datastore(workspace)`` the workspace default. The instance is of the subclass for its
    storage type (:class:`AzureBlobDatastore`, ...).

    :ivar name: the datastore's name.
    :ivar datastore_type: its storage type, as Azure ML names it (``"AzureBlob"``, ``"AzureFile"``,
        ``"AzureDataLake"``, ``"AzureDataLakeGen2"``, ``"AzureSqlDatabase"``, ``"AzurePostgreSql"``,
        ``"AzureMySql"``, ``"DBFS"``).
    :ivar auth_type: the studio's authentication type (``"account_key"``, ``"sas_token"``, ...).
    :ivar credential_type: the same, as Azure ML spells it (``"AccountKey"``, ``"Sas"``, ...).
    :ivar is_default: whether it is the workspace default.
    :ivar settings: the non-secret connection settings.
    :ivar capabilities: what it can do (``browse``, ``upload``, ``tables``, ``script_credentials``, ...).
    """

    _types: ClassVar[dict[str, type[Datastore]]] = {}
    storage_type: ClassVar[str] = ""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.storage_type:
            Datastore._types[cls.storage_type] = cls

    def __new__(cls, workspace: Workspace | None = None, name: str | None = None, **kwargs: Any) -> Datastore:
        if workspace is None or kwargs.get("_data") is not None:
            return super().__new__(cls)
        return cls.get(workspace, name) if name else cls.get_default(workspace)

    def __init__(
        self, workspace: Workspace | None = None, name: str | None = None, *, _data: dict[str, Any] | None = None
    ) -> None:
        if _data is None:
            return  # fetched by __new__
        assert workspace is not None
        self.workspace: Workspace = workspace
        self._load(_data)

    def _load(self, data: dict[str, Any]) -> None:
        self._data = data
        self.name: str = data["name"]
        self.datastore_type: str = data["storage_type"]
        self.storage_type_label: str = data.get("storage_type_label", self.datastore_type)
        self.auth_type: str = data["auth_type"]
        self.credential_type: str = CREDENTIAL_TYPES.get(self.auth_type, self.auth_type)
        self.is_default: bool = bool(data.get("is_default"))
        self.location: str = data.get("location", "")
        self.settings: dict[str, Any] = dict(data.get("settings") or {})
        self.capabilities: dict[str, bool] = dict(data.get("capabilities") or {})
        self.stored_secrets: list[str] = [secret["field"] for secret in data.get("secrets", [])]
        self.last_check: dict[str, Any] = dict(data.get("last_check") or {})
        self.created_at: datetime | None = _when(data.get("created_at"))
        self.updated_at: datetime | None = _when(data.get("updated_at"))

    @classmethod
    def _from_api(cls, workspace: Workspace, data: dict[str, Any]) -> Datastore:
        kind = Datastore._types.get(data["storage_type"], Datastore)
        return kind(workspace, _data=data)

    def __repr__(self) -> str:
        kind = type(self).__name__
        return f"{kind}(name={self.name!r}, datastore_type={self.datastore_type!r}, workspace={self.workspace.name!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Datastore) and (other.workspace.name, other.name) == (self.workspace.name, self.name)

    def __hash__(self) -> int:
        return hash((self.workspace.name, self.name))

    def as_dict(self) -> dict[str, Any]:
        """The datastore as the API describes it (never a secret)."""
        return dict(self._data)

    @property
    def _path(self) -> str:
        return f"workspaces/{quote(self.workspace.name, safe='')}/datastores/{quote(self.name, safe='')}"

    # --- fetching ---------------------------------------------------------------------------

    @staticmethod
    def get(workspace: Workspace, datastore_name: str) -> Datastore:
        """The datastore of this name in ``workspace``.

        :raises DatastoreNotFound: when there is none (or the token cannot see it).
        """
        path = f"workspaces/{quote(workspace.name, safe='')}/datastores/{quote(datastore_name, safe='')}"
        return Datastore._from_api(workspace, workspace._api.json("GET", path, not_found=DatastoreNotFound))

    @staticmethod
    def get_default(workspace: Workspace) -> Datastore:
        """The workspace's default datastore.

        :raises DatastoreNotFound: when the workspace has none.
        """
        return workspace.get_default_datastore()

    def refresh(self) -> Datastore:
        """Fetch the datastore again (after a change made elsewhere); returns itself."""
        self._load(self.workspace._api.json("GET", self._path, not_found=DatastoreNotFound))
        return self

    # --- registering -------------------------------------------------------------------------

    @staticmethod
    def _register(
        workspace: Workspace,
        datastore_name: str,
        storage_type: str,
        auth_type: str,
        overwrite: bool,
        values: dict[str, Any],
    ) -> Datastore:
        body = {
            "storage_type": storage_type,
            "auth_type": auth_type,
            "name": datastore_name,
            "overwrite": bool(overwrite),
            **_body(**values),
        }
        path = f"workspaces/{quote(workspace.name, safe='')}/datastores"
        try:
            data = workspace._api.json("POST", path, json=body)
        except Conflict as error:
            if error.field == "name":
                raise DatastoreExists(error.message, status=error.status, field=error.field) from None
            raise
        return Datastore._from_api(workspace, data)

    @staticmethod
    def _account_auth(sas_token: str | None, account_key: str | None) -> tuple[str, dict[str, Any]]:
        if bool(sas_token) == bool(account_key):
            raise ValidationFailed("Pass exactly one of sas_token and account_key.", field="account_key")
        return ("sas_token", {"sas_token": sas_token}) if sas_token else ("account_key", {"account_key": account_key})

    @staticmethod
    def register_azure_blob_container(
        workspace: Workspace,
        datastore_name: str,
        container_name: str,
        account_name: str,
        sas_token: str | None = None,
        account_key: str | None = None,
        protocol: str | None = None,
        endpoint: str | None = None,
        overwrite: bool = False,
        create_if_not_exists: bool = False,
        skip_validation: bool = False,
        blob_cache_timeout: int | None = None,
        grant_workspace_access: bool = False,
        subscription_id: str | None = None,
        resource_group: str | None = None,
    ) -> AzureBlobDatastore:
        """Register an Azure Blob container, with an account key or a SAS token.

        :param protocol: ``"https"`` (the default) or ``"http"``.
        :param endpoint: the storage suffix (default ``core.windows.net``), or an allowed host such as Azurite's.
        :param overwrite: replace a datastore of the same name.
        :param create_if_not_exists: create the container when it does not exist.
        :param skip_validation: do not check the credentials against the service.
        :param blob_cache_timeout: accepted for compatibility with Azure ML's SDK; not used.
        :raises DatastoreExists: a datastore has that name and ``overwrite`` is False.
        :raises ValidationFailed: a value is refused, or the check against the service failed.
        """
        auth_type, secret = Datastore._account_auth(sas_token, account_key)
        values = dict(
            container_name=container_name,
            account_name=account_name,
            protocol=protocol,
            endpoint=endpoint,
            create_if_not_exists=create_if_not_exists,
            skip_validation=skip_validation,
            grant_workspace_access=grant_workspace_access,
            subscription_id=subscription_id,
            resource_group=resource_group,
            **secret,
        )
        return Datastore._register(workspace, datastore_name, "AzureBlob", auth_type, overwrite, values)  # type: ignore[return-value]

    @staticmethod
    def register_azure_file_share(
        workspace: Workspace,
        datastore_name: str,
        file_share_name: str,
        account_name: str,
        sas_token: str | None = None,
        account_key: str | None = None,
        protocol: str | None = None,
        endpoint: str | None = None,
        overwrite: bool = False,
        create_if_not_exists: bool = False,
        skip_validation: bool = False,
    ) -> AzureFileDatastore:
        """Register an Azure File Share, with an account key or a SAS token (parameters as for blob containers)."""
        auth_type, secret = Datastore._account_auth(sas_token, account_key)
        values = dict(
            file_share_name=file_share_name,
            account_name=account_name,
            protocol=protocol,
            endpoint=endpoint,
            create_if_not_exists=create_if_not_exists,
            skip_validation=skip_validation,
            **secret,
        )
        return Datastore._register(workspace, datastore_name, "AzureFile", auth_type, overwrite, values)  # type: ignore[return-value]

    @staticmethod
    def register_azure_data_lake(
        workspace: Workspace,
        datastore_name: str,
        store_name: str,
        tenant_id: str | None = None,
        client_id: str | None = None,
        client_secret: str | None = None,
        resource_url: str | None = None,
        authority_url: str | None = None,
        subscription_id: str | None = None,
        resource_group: str | None = None,
        overwrite: bool = False,
        grant_workspace_access: bool = False,
        endpoint: str | None = None,
        validate_now: bool = False,
    ) -> AzureDataLakeDatastore:
        """Register an Azure Data Lake Storage Gen1 store with a service principal.

        :param endpoint: the store's suffix (default ``azuredatalakestore.net``) or an allowed host.
        :param validate_now: check the service principal now instead of on first use.
        :param grant_workspace_access: accepted for compatibility with Azure ML's SDK; not used.
        """
        values = {
            "store_name": store_name,
            "tenant_id": tenant_id,
            "client_id": client_id,
            "client_secret": client_secret,
            "resource_url": resource_url,
            "authority_url": authority_url,
            "subscription_id": subscription_id,
            "resource_group": resource_group,
            "endpoint": endpoint,
            "validate_now": validate_now,
        }
        return Datastore._register(workspace, datastore_name, "AzureDataLake", "service_principal", overwrite, values)  # type: ignore[return-value]

    @staticmethod
    def register_azure_data_lake_gen2(
        workspace: Workspace,
        datastore_name: str,
        filesystem: str,
        account_name: str,
        tenant_id: str | None = None,
        client_id: str | None = None,
        client_secret: str | None = None,
        resource_url: str | None = None,
        authority_url: str | None = None,
        protocol: str | None = None,
        endpoint: str | None = None,
        overwrite: bool = False,
        subscription_id: str | None = None,
        resource_group: str | None = None,
        grant_workspace_access: bool = False,
        validate_now: bool = False,
    ) -> AzureDataLakeGen2Datastore:
        """Register an Azure Data Lake Storage Gen2 filesystem with a service principal.

        :param validate_now: check the service principal now instead of on first use.
        :param subscription_id: accepted for compatibility with Azure ML's SDK; not used (nor ``resource_group``,
            ``grant_workspace_access``).
        """
        values = {
            "filesystem": filesystem,
            "account_name": account_name,
            "tenant_id": tenant_id,
            "client_id": client_id,
            "client_secret": client_secret,
            "resource_url": resource_url,
            "authority_url": authority_url,
            "protocol": protocol,
            "endpoint": endpoint,
            "validate_now": validate_now,
        }
        return Datastore._register(
            workspace, datastore_name, "AzureDataLakeGen2", "service_principal", overwrite, values
        )  # type: ignore[return-value]

    @staticmethod
    def register_azure_sql_database(
        workspace: Workspace,
        datastore_name: str,
        server_name: str,
        database_name: str,
        tenant_id: str | None = None,
        client_id: str | None = None,
        client_secret: str | None = None,
        resource_url: str | None = None,
        authority_url: str | None = None,
        endpoint: str | None = None,
        overwrite: bool = False,
        username: str | None = None,
        password: str | None = None,
        subscription_id: str | None = None,
        resource_group: str | None = None,
        grant_workspace_access: bool = False,
        port: int | None = None,
        skip_validation: bool = False,
    ) -> AzureSqlDatabaseDatastore:
        """Register an Azure SQL database, with SQL authentication (``username``, ``password``) or a
        service principal (``tenant_id``, ``client_id``, ``client_secret``).

        :param endpoint: the server suffix (default ``database.windows.net``) or an allowed host.
        """
        if client_id or client_secret:
            auth_type = "service_principal"
            values: dict[str, Any] = {
                "tenant_id": tenant_id,
                "client_id": client_id,
                "client_secret": client_secret,
                "resource_url": resource_url,
                "authority_url": authority_url,
            }
        else:
            auth_type = "sql_authentication"
            values = {"user_id": username, "password": password}
        values.update(
            server_name=server_name,
            database_name=database_name,
            endpoint=endpoint,
            port=port,
            skip_validation=skip_validation,
        )
        return Datastore._register(workspace, datastore_name, "AzureSqlDatabase", auth_type, overwrite, values)  # type: ignore[return-value]

    @staticmethod
    def register_azure_postgre_sql(
        workspace: Workspace,
        datastore_name: str,
        server_name: str,
        database_name: str,
        user_id: str,
        user_password: str,
        port_number: int | None = None,
        endpoint: str | None = None,
        overwrite: bool = False,
        enforce_ssl: bool = True,
        skip_validation: bool = False,
    ) -> AzurePostgreSqlDatastore:
        """Register an Azure Database for PostgreSQL database with SQL authentication.

        :param endpoint: the server suffix (default ``postgres.database.azure.com``) or an allowed host.
        :param enforce_ssl: verify the server's certificate and host name.
        """
        values = {
            "server_name": server_name,
            "database_name": database_name,
            "user_id": user_id,
            "password": user_password,
            "port": port_number,
            "endpoint": endpoint,
            "enforce_ssl": enforce_ssl,
            "skip_validation": skip_validation,
        }
        return Datastore._register(
            workspace, datastore_name, "AzurePostgreSql", "sql_authentication", overwrite, values
        )  # type: ignore[return-value]

    @staticmethod
    def register_azure_my_sql(
        workspace: Workspace,
        datastore_name: str,
        server_name: str,
        database_name: str,
        user_id: str,
        user_password: str,
        port_number: int | None = None,
        endpoint: str | None = None,
        overwrite: bool = False,
        skip_validation: bool = False,
    ) -> AzureMySqlDatastore:
        """Register an Azure Database for MySQL database with SQL authentication.

        :param endpoint: the server suffix (default ``mysql.database.azure.com``) or an allowed host.
        """
        values = {
            "server_name": server_name,
            "database_name": database_name,
            "user_id": user_id,
            "password": user_password,
            "port": port_number,
            "endpoint": endpoint,
            "skip_validation": skip_validation,
        }
        return Datastore._register(workspace, datastore_name, "AzureMySql", "sql_authentication", overwrite, values)  # type: ignore[return-value]

    @staticmethod
    def register_dbfs(
        workspace: Workspace,
        datastore_name: str,
        workspace_url: str | None = None,
        access_token: str | None = None,
        overwrite: bool = False,
        validate_now: bool = False,
    ) -> DBFSDatastore:
        """Register the Databricks File System. With a Databricks ``workspace_url`` and personal
        ``access_token`` the studio can browse and move its files too."""
        values = {"workspace_url": workspace_url, "access_token": access_token, "validate_now": validate_now}
        return Datastore._register(workspace, datastore_name, "DBFS", "none", overwrite, values)  # type: ignore[return-value]

    # --- changing -----------------------------------------------------------------------------

    ALIASES: ClassVar[dict[str, str]] = {"user_password": "password", "username": "user_id", "port_number": "port"}

    def update_authentication(self, *, auth_type: str | None = None, **values: Any) -> Datastore:
        """Change the credentials, by the register call's parameter names
        (``account_key=...``, ``sas_token=...``, ``client_secret=...``, ``user_password=...``).

        A secret left out keeps the stored one, unless the authentication type changes. The
        authentication type follows from the secret given (``sas_token`` means a SAS token) or is
        passed as ``auth_type``. The credentials are checked against the service as on register
        (unless ``skip_validation=True``). Returns itself, updated.
        """
        given = {self.ALIASES.get(key, key): value for key, value in values.items() if value is not None}
        if auth_type is None:
            if "sas_token" in given:
                auth_type = "sas_token"
            elif "account_key" in given:
                auth_type = "account_key"
            elif self.auth_type in ("sql_authentication", "service_principal") and "client_secret" in given:
                auth_type = "service_principal"
            elif (
                self.auth_type == "service_principal"
                and "password" in given
                and self.datastore_type == "AzureSqlDatabase"
            ):
                auth_type = "sql_authentication"
            else:
                auth_type = self.auth_type
        body = {**self.settings, **given, "storage_type": self.datastore_type, "auth_type": auth_type}
        self._load(
            self.workspace._api.json("PUT", self._path + "/authentication", json=body, not_found=DatastoreNotFound)
        )
        return self

    def unregister(self) -> None:
        """Remove the datastore from the workspace (its data stay in storage)."""
        self.workspace._api.request("DELETE", self._path, not_found=DatastoreNotFound)

    def set_as_default(self) -> None:
        """Make this the workspace default."""
        self.workspace.set_default_datastore(self.name)
        self.is_default = True

    def test_connection(self, *, write: bool = False) -> TestResult:
        """Check the stored credentials against the service; ``write=True`` also writes and
        deletes a temporary file. Needs a contributor's token."""
        return TestResult(self.workspace._api.json("POST", self._path + "/test-connection", params={"write": write}))


class _FileDatastore(Datastore):
    """A datastore whose data are files: listing, upload and download."""

    def ls(self, path: str = "", *, prefix: str = "") -> Iterator[FileEntry]:
        """The files and folders directly in ``path`` (the root by default), page after page;
        ``prefix`` narrows them to names that start with it."""
        api = self.workspace._api
        query: dict[str, Any] = {"path": path, "prefix": prefix, "page_size": 200}
        while True:
            page = api.json("GET", self._path + "/folder", params=query, not_found=PathNotFound)
            for entry in page["entries"]:
                yield FileEntry(entry)
            if not page.get("continuation"):
                return
            query["continuation"] = page["continuation"]

    def stat(self, path: str) -> FileEntry:
        """A file's size, type and last change.

        :raises PathNotFound: when there is no file at ``path``.
        """
        return FileEntry(self.workspace._api.json("GET", self._path + "/stat/" + quote(path), not_found=PathNotFound))

    def delete(self, path: str) -> None:
        """Delete one file (or, where the storage type has real folders, a folder with what is in it)."""
        self.workspace._api.request("DELETE", self._path + "/files/" + quote(path), not_found=PathNotFound)

    def upload(
        self,
        src_dir: str | os.PathLike[str],
        target_path: str | None = None,
        overwrite: bool = False,
        show_progress: bool = True,
        *,
        max_concurrency: int | None = None,
    ) -> TransferResult:
        """Upload every file below the local folder ``src_dir`` to ``target_path`` (the root when
        None), keeping relative paths.

        Files that exist are skipped unless ``overwrite`` (the decision is the service's, made by
        a conditional request) and named in ``result.skipped``. A file whose upload breaks midway
        is never visible. Returns a :class:`~datastore_studio.transfer.TransferResult`;
        ``len(result)`` is the number of files uploaded.

        ``max_concurrency`` is how many small files move at once and how many blocks of one large
        file (default 16 files, 4 blocks); raise it over a link with more latency.
        """
        from .transfer import mover_for, upload_tree

        return upload_tree(
            mover_for(self, write=True),
            src_dir,
            target_path=target_path,
            overwrite=overwrite,
            show_progress=show_progress,
            max_concurrency=max_concurrency,
        )

    def upload_files(
        self,
        files: Iterable[str | os.PathLike[str]],
        relative_root: str | os.PathLike[str] | None = None,
        target_path: str | None = None,
        overwrite: bool = False,
        show_progress: bool = True,
        *,
        max_concurrency: int | None = None,
    ) -> TransferResult:
        """Upload the given local files to ``target_path``. Each keeps its path relative to
        ``relative_root`` (without it, only its file name). A file outside ``relative_root`` is
        refused (``result.failed``). Same semantics as :meth:`upload`."""
        from .transfer import mover_for, upload_list

        return upload_list(
            mover_for(self, write=True),
            files,
            relative_root=relative_root,
            target_path=target_path,
            overwrite=overwrite,
            show_progress=show_progress,
            max_concurrency=max_concurrency,
        )

    def download(
        self,
        target_path: str | os.PathLike[str],
        prefix: str | None = None,
        overwrite: bool = False,
        show_progress: bool = True,
        *,
        max_concurrency: int | None = None,
    ) -> TransferResult:
        """Download every file below the storage folder ``prefix`` (everything when None) into the
        local folder ``target_path``, each at its full storage path below it.

        Files that exist locally are skipped unless ``overwrite``. A stored name that would land
        outside ``target_path`` is never written (``result.failed``). Each file is written to a
        temporary file beside its target and renamed into place, so no partial file is left.
        ``max_concurrency`` is as for :meth:`upload`.
        """
        from .transfer import download_tree, mover_for

        return download_tree(
            mover_for(self, write=False),
            target_path,
            prefix=prefix,
            overwrite=overwrite,
            show_progress=show_progress,
            max_concurrency=max_concurrency,
        )


class AzureBlobDatastore(_FileDatastore):
    """An Azure Blob container. Transfers go straight to Blob Storage."""

    storage_type = "AzureBlob"
    container_name = _setting("container_name", "The container's name.")
    account_name = _setting("account_name", "The storage account's name.")
    protocol = _setting("protocol", "https or http.")
    endpoint = _setting("endpoint", "The storage suffix or host.")


class AzureFileDatastore(_FileDatastore):
    """An Azure File Share. Transfers go straight to Azure Files."""

    storage_type = "AzureFile"
    file_share_name = _setting("file_share_name", "The share's name.")
    account_name = _setting("account_name", "The storage account's name.")
    protocol = _setting("protocol", "https or http.")
    endpoint = _setting("endpoint", "The storage suffix or host.")


class AzureDataLakeDatastore(_FileDatastore):
    """An Azure Data Lake Storage Gen1 store. Transfers stream through the studio's file routes."""

    storage_type = "AzureDataLake"
    store_name = _setting("store_name", "The Data Lake store's name.")
    tenant_id = _setting("tenant_id", "The service principal's tenant.")
    client_id = _setting("client_id", "The service principal's client ID.")


class AzureDataLakeGen2Datastore(_FileDatastore):
    """An Azure Data Lake Storage Gen2 filesystem. Transfers go straight to storage."""

    storage_type = "AzureDataLakeGen2"
    filesystem = _setting("filesystem", "The filesystem (container) name.")
    account_name = _setting("account_name", "The storage account's name.")
    tenant_id = _setting("tenant_id", "The service principal's tenant.")
    client_id = _setting("client_id", "The service principal's client ID.")


class DBFSDatastore(_FileDatastore):
    """The Databricks File System. With a workspace URL and token, transfers stream through the studio."""

    storage_type = "DBFS"
    workspace_url = _setting("workspace_url", "The Databricks workspace URL, if given.")


class _SqlDatastore(Datastore):
    """A database: its tables and read-only queries."""

    server_name = _setting("server_name", "The server's name.")
    database_name = _setting("database_name", "The database's name.")
    user_id = _setting("user_id", "The database user (SQL authentication).")
    port = _setting("port", "The server's port.")

    def tables(self) -> list[dict[str, Any]]:
        """Every table and view, as ``[{"schema", "name", "kind", "estimated_rows"}]``."""
        listing = self.workspace._api.json("GET", self._path + "/tables")
        return [{"schema": schema["name"], **table} for schema in listing["schemas"] for table in schema["tables"]]

    def query(self, statement: str, *, row_limit: int = 1000) -> dict[str, Any]:
        """Run one read-only statement; returns ``{"columns", "rows", "truncated", ...}``."""
        body = {"statement": statement, "row_limit": row_limit, "format": "json"}
        result: dict[str, Any] = self.workspace._api.json("POST", self._path + "/query", json=body)
        return result

    def query_csv(self, statement: str) -> Iterator[bytes]:
        """Run one read-only statement and stream the whole result as CSV bytes."""
        body = {"statement": statement, "format": "csv"}
        with self.workspace._api.stream("POST", self._path + "/query", json=body) as response:
            yield from response.iter_bytes()


class AzureSqlDatabaseDatastore(_SqlDatastore):
    """An Azure SQL database."""

    storage_type = "AzureSqlDatabase"


class AzurePostgreSqlDatastore(_SqlDatastore):
    """An Azure Database for PostgreSQL database."""

    storage_type = "AzurePostgreSql"


class AzureMySqlDatastore(_SqlDatastore):
    """An Azure Database for MySQL database."""

    storage_type = "AzureMySql"


def _when(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
