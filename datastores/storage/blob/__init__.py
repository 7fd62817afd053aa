"""Azure Blob Storage (backend.py)."""
