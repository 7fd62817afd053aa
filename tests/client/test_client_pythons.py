"""The client's wheel, built from client/, installs and works on Python 3.11 and 3.12 too (the
full tests run on 3.13): import, `datastore-studio --help`, and one real call to the studio."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid

import pytest

from datastores.access import Actor
from datastores.services import workspace_create

from ..api_support import token_for
from .support import CLIENT, ONE_PASS, WHEELHOUSE, Client, make_venv, python_for

pytestmark = [ONE_PASS, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module")
def wheel(client_venv, tmp_path_factory):
    """`pip wheel ./client`: the package as a built wheel (hatchling from the wheelhouse the venv fixture filled)."""
    where = tmp_path_factory.mktemp("wheel")
    built = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "--no-index",
            "--find-links",
            str(WHEELHOUSE),
            "-w",
            str(where),
            str(CLIENT),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert built.returncode == 0, built.stderr[-3000:]
    (found,) = where.glob("datastore_studio-*.whl")
    return found


@pytest.mark.parametrize("version", ["3.11", "3.12"])
def test_the_wheel_installs_imports_and_answers_on_an_older_python(version, wheel, studio, django_user_model, tmp_path):
    python = python_for(version)
    if python is None:
        pytest.skip(f"no Python {version} here (pyenv install {version})")
    venv = make_venv(python, tmp_path / "venv", str(wheel))
    owner = django_user_model.objects.create_user(username="olive")
    workspace = workspace_create(actor=Actor(user=owner), name=f"py-{uuid.uuid4().hex[:6]}")
    home = tmp_path / "home"
    home.mkdir()
    installed = Client(venv, home, studio.url)

    imported = subprocess.run(
        [
            installed.python,
            "-c",
            "import sys, datastore_studio, datastore_studio.fs; print(sys.version_info[:2])",
        ],
        capture_output=True,
        text=True,
        env=installed.env(None),
        timeout=120,
    )
    assert imported.returncode == 0, imported.stderr
    assert imported.stdout.startswith(f"({version.replace('.', ', ')})")
    helped = installed.cli("--help", token=None)
    assert helped.returncode == 0 and "upload" in helped.stdout and "datastore" in helped.stdout
    listed = installed.cli("workspace", "list", "-o", "json", token=token_for(owner))
    assert listed.returncode == 0, listed.stderr
    assert [item["name"] for item in json.loads(listed.stdout)] == [workspace.name]
