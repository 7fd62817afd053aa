"""Databricks File System (backend.py, over the REST API in api.py)."""
