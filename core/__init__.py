"""Neutral plumbing shared by the apps (below every app; imports no app)."""
