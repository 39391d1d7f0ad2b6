"""Feeds and search: what people find and scroll."""
