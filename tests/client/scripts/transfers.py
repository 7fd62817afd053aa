"""upload, upload_files and download of a folder tree, with and without overwrite, run in the
client's own venv. Reads a plan (JSON) on stdin; prints what each call returned as JSON."""

import json
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from datastore_studio import Datastore, Workspace
from datastore_studio.transfer import BlobMover, RefreshingSas, credential_fetcher

plan = json.load(sys.stdin)
ws = Workspace.get(plan["workspace"])
datastore = Datastore.get(ws, plan["datastore"])
seen = {}


def outcome(result):
    return {"count": len(result), **result.as_dict()}


seen["first"] = outcome(datastore.upload(plan["source"], target_path="tree", show_progress=False))
seen["again"] = outcome(datastore.upload(plan["source"], target_path="tree", overwrite=False, show_progress=True))
with open(plan["changed"], "wb") as file:
    file.write(b"changed locally\n")
seen["overwrite"] = outcome(datastore.upload(plan["source"], target_path="tree", overwrite=True, show_progress=False))
seen["files"] = outcome(
    datastore.upload_files(plan["files"], relative_root=plan["source"], target_path="picked", show_progress=False)
)
seen["download"] = outcome(datastore.download(plan["target"], prefix="tree", show_progress=False))
seen["download_again"] = outcome(datastore.download(plan["target"], prefix="tree", show_progress=False))
seen["download_overwrite"] = outcome(
    datastore.download(plan["target"], prefix="tree/nested", overwrite=True, show_progress=False)
)
seen["hostile"] = outcome(datastore.download(plan["hostile_target"], prefix="hostile", show_progress=False))

# A credential that is about to expire is replaced before the next request, even in the middle of
# one file: the studio's SAS is handed on with an expiry 20 s away (inside the refresh margin).
fetch = credential_fetcher(datastore, write=True)


def expiring_soon():
    return {**fetch(), "expires_on": (datetime.now(UTC) + timedelta(seconds=20)).isoformat()}


credential = RefreshingSas(expiring_soon)
big = Path(plan["source"], "big", "model.bin")
BlobMover(datastore, credential).upload(
    big, "refresh/model.bin", big.stat().st_size, overwrite=True, progress=lambda step: None, concurrency=2
)
seen["credentials_fetched"] = credential.fetched
print(json.dumps(seen))
