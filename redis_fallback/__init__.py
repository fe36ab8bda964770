"""Redis fallback layer: the only way the project reaches Redis (filled in by the fallback issue)."""
