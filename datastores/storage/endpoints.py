"""The allow-list for endpoints and hosts a user types.

A datastore may only point at Azure's public and sovereign cloud suffixes, or
at a host named in DATASTORE_ALLOWED_HOSTS (a local Azurite, a private
endpoint, a test server). Checked before any connection is made.
"""

from django.conf import settings
from django.core.exceptions import ValidationError

AZURE_SUFFIXES = (
    # Storage (blob, file, dfs) in the public, China, US Government and German clouds.
    "core.windows.net",
    "core.chinacloudapi.cn",
    "core.usgovcloudapi.net",
    "core.cloudapi.de",
    # Azure SQL Database.
    "database.windows.net",
    "database.chinacloudapi.cn",
    "database.usgovcloudapi.net",
    # Azure Database for PostgreSQL and MySQL.
    "postgres.database.azure.com",
    "postgres.database.chinacloudapi.cn",
    "postgres.database.usgovcloudapi.net",
    "mysql.database.azure.com",
    "mysql.database.chinacloudapi.cn",
    "mysql.database.usgovcloudapi.net",
    # Data Lake Storage Gen1.
    "azuredatalakestore.net",
    # Azure Databricks.
    "azuredatabricks.net",
    "databricks.azure.cn",
    "databricks.azure.us",
    # Microsoft Entra ID (Azure AD) authorities.
    "login.microsoftonline.com",
    "login.chinacloudapi.cn",
    "login.microsoftonline.us",
)


def split_host_port(value: str) -> tuple[str, int | None]:
    """'host:port' -> ('host', port); IPv6 in brackets is kept whole."""
    value = value.strip().lower()
    if value.startswith("["):
        host, _, rest = value[1:].partition("]")
        port = rest.removeprefix(":")
        return host, int(port) if port.isdigit() else None
    host, sep, port = value.rpartition(":")
    if sep and port.isdigit():
        return host, int(port)
    return value, None


def is_allowed_host(host_or_endpoint: str) -> bool:
    host, _port = split_host_port(host_or_endpoint)
    host = host.rstrip(".")
    if host in settings.DATASTORE_ALLOWED_HOSTS:
        return True
    return any(host == suffix or host.endswith("." + suffix) for suffix in AZURE_SUFFIXES)


def is_custom_host(host_or_endpoint: str) -> bool:
    """True for a host from DATASTORE_ALLOWED_HOSTS rather than an Azure suffix."""
    host, _port = split_host_port(host_or_endpoint)
    return host.rstrip(".") in settings.DATASTORE_ALLOWED_HOSTS


def validate_allowed_host(value: str) -> None:
    if not is_allowed_host(value):
        raise ValidationError(
            "%(host)s is not an Azure endpoint, nor a host this studio allows. "
            "Use an Azure suffix such as core.windows.net, or ask an administrator "
            "to add the host to DATASTORE_ALLOWED_HOSTS.",
            code="host_not_allowed",
            params={"host": value},
        )
