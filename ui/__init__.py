"""The lineage portal (HTML) and the JSON API. Built in a later issue."""
