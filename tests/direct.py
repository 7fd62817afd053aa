"""What the direct-transfer tests share (tests/test_direct_transfers.py, tests/test_direct_gen2.py):
asking the studio for a SAS as static/direct.js does, reading a SAS's fields, sending blocks with it
as the browser would, and a member of another role."""

from __future__ import annotations

import base64
import uuid
from urllib.parse import parse_qs, quote, urlsplit

import requests
from django.test import Client

from datastores.models import Membership, Role

from .support import url


def member(django_user_model, workspace, role: Role) -> Client:
    person = django_user_model.objects.create_user(username=f"{role}-{uuid.uuid4().hex[:6]}")
    Membership.objects.create(workspace=workspace, user=person, role=role)
    signed_in = Client()
    signed_in.force_login(person)
    return signed_in


def ask_upload(client, datastore, path: str, size: int = 5):
    return client.post(
        url(datastore, "datastore_direct_upload", path), {"size": str(size)}, HTTP_ACCEPT="application/json"
    )


def sas_fields(sas_url: str) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlsplit(sas_url).query).items()}


def direct_download(client, datastore, path: str) -> tuple[str, dict[str, str]]:
    """Follow a file list's direct download link one step: the SAS URL it redirects to, and its fields."""
    answer = client.get(url(datastore, "datastore_file", path) + "?direct=1")
    assert answer.status_code == 302, answer.content
    return answer["Location"], sas_fields(answer["Location"])


def put_blocks(sas_url: str, data: bytes, *, overwrite: bool = False) -> requests.Response:
    """What static/direct.js sends: Put Block, then Put Block List (conditional unless overwrite).
    The Put Block's answer when storage refused it, else the commit's."""
    block = base64.b64encode(b"test0000-000000").decode()
    staged = requests.put(f"{sas_url}&comp=block&blockid={quote(block, safe='')}", data=data, timeout=10)
    if staged.status_code != 201:
        return staged
    headers = {} if overwrite else {"If-None-Match": "*"}
    body = f'<?xml version="1.0" encoding="utf-8"?><BlockList><Latest>{block}</Latest></BlockList>'
    return requests.put(f"{sas_url}&comp=blocklist", data=body, headers=headers, timeout=10)
