"""pandas reading and writing CSV and Parquet through azureml:// paths, in the client's venv,
with only the studio URL, a token and the workspace in the environment."""

import json
import sys

import fsspec
import pandas as pd

plan = json.load(sys.stdin)
short = "azureml://datastores/{}/paths/{}".format
seen = {}
frame = pd.read_csv(short(plan["datastore"], "data/train.csv"))
seen["read_csv"] = frame.to_dict(orient="list")
frame["total"] = frame["x"] + frame["y"]
frame.to_parquet(short(plan["datastore"], "out/train.parquet"), index=False)
frame.to_csv(short(plan["datastore"], "out/train.csv"), index=False)
seen["read_parquet"] = pd.read_parquet(plan["long"] + "out/train.parquet").to_dict(orient="list")
with fsspec.open(short(plan["datastore"], "data/train.csv"), "rb") as file:
    seen["fsspec_open"] = file.read().decode()
fs = fsspec.filesystem("azureml")
seen["ls"] = sorted(fs.ls(short(plan["datastore"], "out"), detail=False))
seen["exists"] = [
    fs.exists(short(plan["datastore"], "out/train.csv")),
    fs.exists(short(plan["datastore"], "out/nothing.csv")),
]
print(json.dumps(seen))
