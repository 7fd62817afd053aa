"""compose.yaml, read as an operator (and a reviewer) would: no secret is written into it, every
secret reaches the studio as a file, and the studio runs the image's own start command and health
check with a stop timeout that covers gunicorn's grace period. (No Docker engine runs here:
tests/test_production_start.py runs the image's commands themselves.)"""

from __future__ import annotations

import re
import subprocess
import sys

import yaml

from .production import ROOT

COMPOSE = yaml.safe_load((ROOT / "compose.yaml").read_text())
SECRET_NAMES = re.compile(r"SECRET|PASSWORD|_KEYS?$|TOKEN$|CONNECTION_STRING")


def test_no_secret_is_written_into_compose_yaml():
    for name, service in COMPOSE["services"].items():
        for variable, value in service.get("environment", {}).items():
            if variable.endswith("_FILE"):
                assert str(value).startswith("/run/secrets/"), (name, variable)
            elif SECRET_NAMES.search(variable):
                raise AssertionError(f"{name}: {variable} is given a value in compose.yaml; pass it as {variable}_FILE")
            assert not re.search(r"://[^/@\s]*:[^/@\s]*@", str(value)), (
                f"{name}: {variable} carries a password in a URL"
            )
    for name, secret in COMPOSE["secrets"].items():
        assert set(secret) == {"file"}, f"secret {name} must come from a file, not be written here"
        assert secret["file"].startswith("./secrets/"), name


def test_the_secret_files_are_kept_out_of_git():
    ignored = subprocess.run(["git", "check-ignore", "-q", "secrets/secret_key"], cwd=ROOT)
    assert ignored.returncode == 0


def test_every_secret_the_studio_reads_is_mounted_into_it():
    studio = COMPOSE["services"]["studio"]
    mounted = {f"/run/secrets/{name}" for name in studio["secrets"]}
    read = {value for variable, value in studio["environment"].items() if variable.endswith("_FILE")}
    assert read <= mounted
    assert set(studio["secrets"]) <= set(COMPOSE["secrets"])


def test_the_studio_runs_the_image_command_and_health_check_and_stops_after_the_grace_period():
    studio = COMPOSE["services"]["studio"]
    assert "command" not in studio and "entrypoint" not in studio
    assert "healthcheck" not in studio  # the image's HEALTHCHECK applies
    found = re.search(r"GUNICORN_GRACEFUL_TIMEOUT:-(\d+)", (ROOT / "compose.yaml").read_text())
    assert found, "compose.yaml sets a default GUNICORN_GRACEFUL_TIMEOUT"
    grace = int(found.group(1))
    assert int(studio["stop_grace_period"].removesuffix("s")) > grace
    config = subprocess.run(
        [sys.executable, "-c", "import runpy; print(runpy.run_path('gunicorn.conf.py')['graceful_timeout'])"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin"},
        check=True,
    )
    assert int(config.stdout) == grace  # compose's default is gunicorn.conf.py's
