"""Azure Data Lake Storage Gen1 (backend.py)."""
