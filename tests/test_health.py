"""/healthz answers the container's probe under production settings (studio/health.py).

The probe asks http://127.0.0.1:8000/healthz: a Host that ALLOWED_HOSTS does not list, over plain
http while the HTTPS redirect is on. tests/test_production_start.py runs the image's own probe
against gunicorn; these check the answer itself.
"""

from __future__ import annotations

import logging

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


@pytest.fixture
def production_settings(settings):
    settings.ALLOWED_HOSTS = ["studio.example.com"]
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")


def test_the_probe_gets_200_whatever_allowed_hosts_and_the_https_redirect_say(production_settings, caplog):
    caplog.set_level(logging.INFO)
    response = Client().get("/healthz", HTTP_HOST="127.0.0.1:8000")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response["Cache-Control"] == "no-store"
    assert [record for record in caplog.records if record.levelno >= logging.WARNING] == []


def test_every_other_path_still_meets_allowed_hosts_and_the_https_redirect(production_settings):
    client = Client()
    assert client.get("/", HTTP_HOST="127.0.0.1:8000").status_code == 400
    redirect = client.get("/", HTTP_HOST="studio.example.com")
    assert (redirect.status_code, redirect["Location"]) == (301, "https://studio.example.com/")
    assert client.get("/healthz/", HTTP_HOST="127.0.0.1:8000").status_code == 400


def test_the_health_check_answers_get_and_head_only(production_settings):
    client = Client()
    assert client.head("/healthz", HTTP_HOST="127.0.0.1:8000").status_code == 200
    refused = client.post("/healthz", HTTP_HOST="127.0.0.1:8000")
    assert (refused.status_code, refused["Allow"]) == (405, "GET, HEAD")
