"""download of one folder, in the client's venv, reporting a failure as the SDK raises it."""

import json
import sys

from datastore_studio import Datastore, TransferStopped, Workspace

plan = json.load(sys.stdin)
datastore = Datastore.get(Workspace.get(plan["workspace"]), plan["datastore"])
try:
    result = datastore.download(plan["target"], prefix=plan["prefix"], show_progress=False)
    seen = {"count": len(result), **result.as_dict()}
except TransferStopped as error:
    seen = {"stopped": error.message, "type": type(error).__name__}
print(json.dumps(seen))
