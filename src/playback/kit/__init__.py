"""Shared plumbing used by every domain: base model, ids, time, cursors, pagination."""
