"""Where the studio's URL and personal access token come from, in order: arguments, the
environment (``DATASTORE_STUDIO_URL``, ``DATASTORE_STUDIO_TOKEN``, ``DATASTORE_STUDIO_WORKSPACE``)
and the file ``datastore-studio login`` writes (mode 0600): ``$DATASTORE_STUDIO_CONFIG``, else
``$XDG_CONFIG_HOME/datastore-studio/config.json``, else ``~/.config/datastore-studio/config.json``.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .exceptions import ConfigurationError

__all__ = ["Settings", "config_path", "forget_login", "read_login", "resolve", "save_login"]

URL_VARIABLE = "DATASTORE_STUDIO_URL"
TOKEN_VARIABLE = "DATASTORE_STUDIO_TOKEN"
WORKSPACE_VARIABLE = "DATASTORE_STUDIO_WORKSPACE"
CONFIG_VARIABLE = "DATASTORE_STUDIO_CONFIG"


@dataclass(frozen=True)
class Settings:
    """The studio to talk to and the token to send. ``workspace`` is the default workspace, if any."""

    url: str
    token: str
    workspace: str | None = None

    def __repr__(self) -> str:  # never show the token
        return f"Settings(url={self.url!r}, token='***', workspace={self.workspace!r})"


def config_path() -> Path:
    """The path of the login file (it need not exist)."""
    if os.environ.get(CONFIG_VARIABLE):
        return Path(os.environ[CONFIG_VARIABLE]).expanduser()
    base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return base / "datastore-studio" / "config.json"


def read_login() -> dict[str, Any]:
    """What the login file holds (``url``, ``token``, ``workspace``); empty when there is none."""
    path = config_path()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except OSError as error:
        raise ConfigurationError(f"Cannot read {path}: {error.strerror or error}") from None
    try:
        found = json.loads(text)
    except ValueError:
        raise ConfigurationError(f"{path} is not valid JSON: run `datastore-studio login` again.") from None
    if not isinstance(found, dict):
        raise ConfigurationError(f"{path} does not hold a login: run `datastore-studio login` again.")
    return {key: value for key, value in found.items() if isinstance(value, str)}


def save_login(url: str, token: str, workspace: str | None = None) -> Path:
    """Write the login file, readable by its owner only (mode 0600). Returns its path."""
    path = config_path()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    body = {"url": url, "token": token, **({"workspace": workspace} if workspace else {})}
    temporary = path.with_name(path.name + ".tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        json.dump(body, file, indent=2)
    os.chmod(temporary, 0o600)
    os.replace(temporary, path)
    return path


def forget_login() -> bool:
    """Delete the login file. Returns whether there was one."""
    try:
        config_path().unlink()
    except FileNotFoundError:
        return False
    return True


def resolve(url: str | None = None, token: str | None = None, workspace: str | None = None) -> Settings:
    """The studio URL, token and default workspace: arguments first, then the environment, then the login file."""
    saved: dict[str, Any] = {}
    if not (url and token and workspace):
        saved = read_login()
    found_url = url or os.environ.get(URL_VARIABLE) or saved.get("url")
    found_token = token or os.environ.get(TOKEN_VARIABLE) or saved.get("token")
    found_workspace = workspace or os.environ.get(WORKSPACE_VARIABLE) or saved.get("workspace")
    if not found_url:
        raise ConfigurationError(f"No studio URL: pass url=, set {URL_VARIABLE}, or run `datastore-studio login`.")
    if not found_token:
        raise ConfigurationError(
            f"No personal access token: pass token=, set {TOKEN_VARIABLE}, or run `datastore-studio login`."
        )
    return Settings(url=normalise_url(found_url), token=found_token.strip(), workspace=found_workspace or None)


def normalise_url(url: str) -> str:
    """The studio's base URL, ending in one slash; only http and https."""
    url = url.strip()
    if not url.startswith(("https://", "http://")):
        raise ConfigurationError(f"The studio URL must start with https:// (or http:// on a local machine): {url!r}")
    return url.rstrip("/") + "/"
