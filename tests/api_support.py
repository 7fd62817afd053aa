"""Helpers for the API tests: personal access tokens made through the service the Tokens page uses."""

from __future__ import annotations

from typing import Any

from django.test import Client

from datastores.access import Actor
from datastores.services import token_create

from .support import remember_secret


def token_for(user: Any, *, days: int = 30, read_only: bool = False, workspaces: tuple = (), name: str = "test") -> str:
    _token, raw = token_create(
        actor=Actor(user=user), name=name, expires_in_days=days, read_only=read_only, workspaces=workspaces
    )
    return remember_secret(raw)


class ApiClient:
    """The Django test client with a bearer token on every request (no session)."""

    def __init__(self, raw_token: str, client: Client | None = None):
        self.client = client or Client()
        self.headers = {"Authorization": f"Bearer {raw_token}"}

    def _send(self, method: str, path: str, json: Any = None, **kwargs: Any) -> Any:
        url = path if path.startswith("/") else "/api/v1/" + path
        headers = {**self.headers, **kwargs.pop("headers", {})}
        if json is not None:
            kwargs.update(data=json, content_type="application/json")
        return getattr(self.client, method)(url, headers=headers, **kwargs)

    def get(self, path: str, **kwargs: Any) -> Any:
        return self._send("get", path, **kwargs)

    def post(self, path: str, json: Any = None, **kwargs: Any) -> Any:
        return self._send("post", path, json=json if json is not None else {}, **kwargs)

    def put(self, path: str, json: Any = None, **kwargs: Any) -> Any:
        return self._send("put", path, json=json, **kwargs)

    def patch(self, path: str, json: Any = None, **kwargs: Any) -> Any:
        return self._send("patch", path, json=json, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> Any:
        return self._send("delete", path, **kwargs)
