"""Endpoints, hosts and URLs a user types: parsed into parts, and checked against the allow-list.

Every value is parsed with `urllib.parse` and `ipaddress` into scheme, host and
port, and refused when it holds anything else (userinfo, a path, a query, a
fragment, whitespace, commas, or a character no host name has). URLs for the
client libraries are then built from those parts only (`Address.netloc`,
`Address.url`), never from the text that was typed.

A host is allowed when it is a DNS name that ends, at a label boundary, in one
of Azure's public or sovereign suffixes for that service, or when it is listed
in DATASTORE_ALLOWED_HOSTS (exactly, optionally with a port). Where the host
then resolves to is checked in network.py, right before each connection.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError

# The suffixes of each service, in the public, China, US Government and German clouds.
STORAGE = ("core.windows.net", "core.chinacloudapi.cn", "core.usgovcloudapi.net", "core.cloudapi.de")
AZURE_SQL = ("database.windows.net", "database.chinacloudapi.cn", "database.usgovcloudapi.net")
POSTGRES = ("postgres.database.azure.com", "postgres.database.chinacloudapi.cn", "postgres.database.usgovcloudapi.net")
MYSQL = ("mysql.database.azure.com", "mysql.database.chinacloudapi.cn", "mysql.database.usgovcloudapi.net")
DATA_LAKE_GEN1 = ("azuredatalakestore.net",)
DATABRICKS = ("azuredatabricks.net", "databricks.azure.cn", "databricks.azure.us")
ENTRA = ("login.microsoftonline.com", "login.chinacloudapi.cn", "login.microsoftonline.us")
AZURE_SUFFIXES = STORAGE + AZURE_SQL + POSTGRES + MYSQL + DATA_LAKE_GEN1 + DATABRICKS + ENTRA

# What may appear in an endpoint or URL at all: a host name, an IPv6 literal in brackets, a port,
# and for URLs the scheme's "://" and a final "/". Anything else is refused before parsing.
NETLOC_CHARS = re.compile(r"(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.\-]+)(?::[0-9]{1,5})?\Z")
URL_CHARS = re.compile(r"[A-Za-z0-9.\-:\[\]/]+\Z")
LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)\Z")


class BadAddress(ValueError):
    """The text is not a host, an endpoint or a URL of the expected form."""


@dataclass(frozen=True)
class Address:
    """A parsed host (a lowercase DNS name, or an IP address without brackets), with an
    optional port and, for URLs, a scheme."""

    host: str
    port: int | None = None
    scheme: str = ""

    @property
    def is_ip(self) -> bool:
        return is_ip(self.host)

    @property
    def host_for_url(self) -> str:
        return f"[{self.host}]" if ":" in self.host else self.host

    @property
    def netloc(self) -> str:
        return self.host_for_url + (f":{self.port}" if self.port is not None else "")

    def url(self, *path_segments: str) -> str:
        """scheme://netloc[/segment...]; segments are names the studio checked (account, 'api/2.0/dbfs')."""
        return f"{self.scheme}://{self.netloc}" + "".join(f"/{segment}" for segment in path_segments)

    def __str__(self) -> str:
        return self.url() if self.scheme else self.netloc


def is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def parse_host(text: str) -> str:
    """A DNS name (lowercased, every label letters, digits and inner hyphens, not all digits
    at the end) or an IP address. IPv6 comes without brackets here."""
    if is_ip(text):
        return str(ipaddress.ip_address(text))
    host = text.lower()
    labels = host.split(".")
    if len(host) > 253 or not all(LABEL.match(label) for label in labels) or labels[-1].isdigit():
        raise BadAddress(text)
    return host


def parse_netloc(text: str) -> Address:
    """'host', 'host:port' or '[v6]:port' -> Address. Nothing else is accepted."""
    if not NETLOC_CHARS.match(text):
        raise BadAddress(text)
    try:
        parts = urlsplit("//" + text)
        port = parts.port
    except ValueError:
        raise BadAddress(text) from None
    hostname = parts.hostname or ""
    if parts.path or parts.query or parts.fragment or parts.username is not None or not hostname:
        raise BadAddress(text)
    bracketed = parts.netloc.startswith("[")
    if bracketed != (":" in hostname):  # IPv6 exactly when in brackets
        raise BadAddress(text)
    if port is None and parts.netloc.endswith(":"):
        raise BadAddress(text)
    address = Address(parse_host(hostname), port)
    if port == 0:
        raise BadAddress(text)
    return address


def parse_url(text: str, *, schemes: tuple[str, ...] = ("https",)) -> Address:
    """'https://host[:port][/]' -> Address with its scheme. No path, query or fragment."""
    if not URL_CHARS.match(text):
        raise BadAddress(text)
    try:
        parts = urlsplit(text)
    except ValueError:
        raise BadAddress(text) from None
    if parts.scheme not in schemes or parts.path not in ("", "/") or parts.query or parts.fragment:
        raise BadAddress(text)
    if not text.startswith(f"{parts.scheme}://"):
        raise BadAddress(text)
    address = parse_netloc(parts.netloc)
    return Address(address.host, address.port, parts.scheme)


# --- the allow-list -------------------------------------------------------------------


def allowed_entries() -> list[Address]:
    """DATASTORE_ALLOWED_HOSTS, parsed; an entry that does not parse is ignored (settings say so)."""
    entries = []
    for entry in settings.DATASTORE_ALLOWED_HOSTS:
        try:
            entries.append(parse_netloc(entry))
        except BadAddress:
            continue
    return entries


def is_listed(host: str, port: int | None = None) -> bool:
    """Whether DATASTORE_ALLOWED_HOSTS names this host (with this port, when the entry has one).
    `port` None asks whether the host is listed with any port."""
    return any(
        entry.host == host and (entry.port is None or port is None or entry.port == port) for entry in allowed_entries()
    )


def under_suffix(host: str, suffixes: tuple[str, ...]) -> bool:
    """A DNS name equal to a suffix or ending in '.' + suffix: at a label boundary."""
    return not is_ip(host) and any(host == suffix or host.endswith("." + suffix) for suffix in suffixes)


def is_allowed(host: str, port: int | None, suffixes: tuple[str, ...]) -> bool:
    return under_suffix(host, suffixes) or is_listed(host, port)


def _refuse(text: str, example: str) -> ValidationError:
    return ValidationError(
        "%(value)s is not a valid value here. " + example, code="invalid_address", params={"value": text[:100]}
    )


def _not_allowed(text: str, suffixes: tuple[str, ...]) -> ValidationError:
    return ValidationError(
        "%(host)s is not an Azure endpoint, nor a host this studio allows. Use this service's Azure "
        "suffix, such as %(suffix)s, or ask an administrator to add the host to DATASTORE_ALLOWED_HOSTS.",
        code="host_not_allowed",
        params={"host": text[:100], "suffix": suffixes[0]},
    )


def clean_endpoint(text: str, suffixes: tuple[str, ...]) -> str:
    """An endpoint field: an Azure suffix such as core.windows.net, or an allowed 'host[:port]'.
    Returns it normalized (lowercase, as built from its parts)."""
    try:
        address = parse_netloc(text.strip())
    except BadAddress:
        raise _refuse(
            text, f"Type a domain suffix such as {suffixes[0]}, or an allowed host[:port], and nothing else."
        ) from None
    if address.port is not None and not is_listed(address.host, address.port):
        raise (
            _not_allowed(text, suffixes)
            if not is_listed(address.host)
            else _refuse(text, "This host is allowed on other ports only (DATASTORE_ALLOWED_HOSTS).")
        )
    if not is_allowed(address.host, address.port, suffixes):
        raise _not_allowed(text, suffixes)
    return address.netloc


def clean_url(text: str, suffixes: tuple[str, ...] | None, example: str) -> str:
    """An https URL field (authority, resource, workspace): scheme and host, nothing else.
    With `suffixes`, the host must be allowed for that service. Returns it normalized."""
    try:
        address = parse_url(text.strip())
    except BadAddress:
        raise _refuse(text, f"Type an https URL with a host only, such as {example}.") from None
    if suffixes is not None and not is_allowed(address.host, address.port, suffixes):
        raise _not_allowed(address.netloc, suffixes)
    return address.url() + ("/" if text.strip().endswith("/") else "")
