"""upload (twice: the second skips every file) and download of a folder tree to any datastore, in the client's venv."""

import json
import sys

from datastore_studio import Datastore, Workspace

plan = json.load(sys.stdin)
datastore = Datastore.get(Workspace.get(plan["workspace"]), plan["datastore"])
seen = {
    "first": datastore.upload(plan["source"], target_path="tree", show_progress=False),
    "again": datastore.upload(plan["source"], target_path="tree", show_progress=False),
    "download": datastore.download(plan["target"], prefix="tree", show_progress=False),
}
print(json.dumps({key: {"count": len(result), **result.as_dict()} for key, result in seen.items()}))
