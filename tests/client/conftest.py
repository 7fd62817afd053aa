"""Fixtures of the client tests: one fresh venv with the client installed from the repository
(Python 3.13, with pandas), and the studio served over HTTP for the session."""

from __future__ import annotations

import pytest

from .support import CLIENT, Client, PlainStudio, make_venv, python_for


@pytest.fixture(scope="session")
def client_venv(tmp_path_factory):
    """`pip install ./client[pandas]` into a fresh venv, as a user would."""
    python = python_for("3.13")
    if python is None:
        pytest.fail("Python 3.13 is needed for the client tests (pyenv install 3.13).")
    return make_venv(python, tmp_path_factory.mktemp("client-venv") / "venv", f"{CLIENT}[pandas]")


@pytest.fixture(scope="session")
def plain_studio():
    with PlainStudio() as studio:
        yield studio


@pytest.fixture
def studio(plain_studio, settings):
    """The served studio, with this test's requests only in `studio.seen`."""
    settings.ALLOWED_HOSTS = ["127.0.0.1"]
    plain_studio.seen.clear()
    return plain_studio


@pytest.fixture
def installed(client_venv, studio, tmp_path):
    """The installed client, with a fresh home folder (so a fresh config file) for this test."""
    home = tmp_path / "home"
    home.mkdir()
    return Client(client_venv, home, studio.url)
