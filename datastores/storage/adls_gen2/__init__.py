"""Azure Data Lake Storage Gen2 (backend.py)."""
