"""Azure File Share (backend.py)."""
