"""Static assets of the portal (package data only)."""
