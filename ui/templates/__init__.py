"""Jinja templates of the portal (package data only)."""
