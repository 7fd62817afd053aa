"""The load test's simulated users (Locust), run by bench/load.py in bench/out/load-venv.

Each user takes one of the accounts bench/load.py made (BENCH_LOAD_USERS, one password for all:
BENCH_LOAD_PASSWORD), signs in through the real sign-in form (GET for the CSRF cookie, POST with
the token), then, until the run ends, goes round: the datastore list, a folder (the page, then
the listing htmx loads into it), a small file's preview, an upload of a small file of random
bytes with a unique name, and the download of that same file. Every answer is checked for what a
person would see (a page that names the datastore, the folder's files, the file's rows, the
upload's "uploaded", the bytes that went up); anything else counts as a failure. Each upload
the studio confirmed is written to BENCH_LOAD_UPLOADS (path, size, sha256), which bench/load.py
then checks against what Azurite holds, and every request to BENCH_LOAD_REQUESTS (its time).

Only Locust and the standard library here: this file runs in Locust's own venv.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import random
import time
import uuid

from locust import HttpUser, between, events, task

WORKSPACE = os.environ["BENCH_LOAD_WORKSPACE"]
DATASTORE = os.environ.get("BENCH_LOAD_DATASTORE", "workspaceblobstore")
USERNAMES = os.environ["BENCH_LOAD_USERS"].split(",")
PASSWORD = os.environ["BENCH_LOAD_PASSWORD"]
FOLDER = os.environ["BENCH_LOAD_FOLDER"]  # seeded by bench/load.py
FOLDER_FILE = os.environ["BENCH_LOAD_FOLDER_FILE"]  # a name the folder's listing shows
PREVIEW_FILE = os.environ["BENCH_LOAD_PREVIEW_FILE"]  # a small CSV in that folder
PREVIEW_TEXT = os.environ["BENCH_LOAD_PREVIEW_TEXT"]  # a cell of it, as the preview's table shows it
UPLOADS = os.environ["BENCH_LOAD_UPLOADS"]
REQUESTS = os.environ["BENCH_LOAD_REQUESTS"]
UPLOAD_MIN, UPLOAD_MAX = 1024, 64 * 1024

_accounts = itertools.count()
_log = open(UPLOADS, "a", encoding="utf-8", buffering=1)  # one line per confirmed upload
_requests = open(REQUESTS, "a", encoding="utf-8", buffering=1)  # one line per request


@events.request.add_listener
def _record(request_type, name, response_time, response_length, exception=None, **_kwargs) -> None:
    """Every request (end time, milliseconds, name, ok): bench/load.py computes the exact figures from these."""
    _requests.write(f"{time.time():.3f}\t{response_time:.1f}\t{name}\t{0 if exception else 1}\n")


class StudioUser(HttpUser):
    wait_time = between(0.5, 1.5)

    def on_start(self) -> None:
        self.username = USERNAMES[next(_accounts) % len(USERNAMES)]
        self.datastore_url = f"/workspaces/{WORKSPACE}/datastores/{DATASTORE}/"
        login = "/accounts/login/"
        self.client.get(login, name="sign in: form")
        with self.client.post(
            login,
            data={"username": self.username, "password": PASSWORD, "csrfmiddlewaretoken": self.csrf_token()},
            headers={"Referer": self.host + login},
            name="sign in: post",
            catch_response=True,
        ) as answer:
            # Signed in: redirected away from the sign-in page, with a session cookie.
            if answer.status_code != 200 or "/accounts/login/" in answer.url or "sessionid" not in self.client.cookies:
                answer.failure(f"sign-in failed ({answer.status_code}, at {answer.url})")

    def csrf_token(self) -> str:
        return self.client.cookies.get("csrftoken", "")

    def expect(self, answer, text: str) -> None:
        if answer.status_code != 200:
            answer.failure(f"HTTP {answer.status_code}: {answer.text[:200]!r}")
        elif text not in answer.text:
            answer.failure(f"the page does not show {text!r}")

    @task
    def round_trip(self) -> None:
        with self.client.get(
            f"/workspaces/{WORKSPACE}/datastores/", name="list datastores", catch_response=True
        ) as answer:
            self.expect(answer, DATASTORE)
        browse = self.datastore_url + "browse/"
        with self.client.get(browse, params={"path": FOLDER}, name="browse: page", catch_response=True) as answer:
            self.expect(answer, FOLDER)
        with self.client.get(
            browse,
            params={"path": FOLDER},
            headers={"HX-Request": "true", "HX-Target": "listing"},
            name="browse: listing",
            catch_response=True,
        ) as answer:
            self.expect(answer, FOLDER_FILE)
        with self.client.get(
            self.datastore_url + "preview/", params={"path": PREVIEW_FILE}, name="preview", catch_response=True
        ) as answer:
            self.expect(answer, PREVIEW_TEXT)

        body = random.randbytes(random.randint(UPLOAD_MIN, UPLOAD_MAX))
        digest = hashlib.sha256(body).hexdigest()
        path = f"load/{self.username}/{uuid.uuid4().hex}.bin"
        with self.client.put(
            self.datastore_url + "files/" + path,
            data=body,
            headers={"X-CSRFToken": self.csrf_token(), "Content-Type": "application/octet-stream"},
            name="upload",
            catch_response=True,
        ) as answer:
            is_json = answer.headers.get("Content-Type", "").startswith("application/json")
            outcome = answer.json().get("outcome") if answer.status_code == 200 and is_json else None
            if outcome != "uploaded":
                answer.failure(f"HTTP {answer.status_code}, outcome {outcome!r}: {answer.text[:200]!r}")
                return
        _log.write(json.dumps({"path": path, "size": len(body), "sha256": digest}) + "\n")

        with self.client.get(self.datastore_url + "files/" + path, name="download", catch_response=True) as answer:
            if answer.status_code != 200:
                answer.failure(f"HTTP {answer.status_code}")
            elif hashlib.sha256(answer.content).hexdigest() != digest:
                answer.failure(f"{len(answer.content)} bytes came back, not the {len(body)} uploaded")
