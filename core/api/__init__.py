"""API plumbing shared by the apps' APIs: fields, permissions, schema helpers."""
