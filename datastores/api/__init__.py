"""The API: the studio's own REST API under /api/v1/ (v1.py), Azure ML's datastore routes
for its SDK v2 (arm.py), and the managed-identity token route (identity.py)."""
