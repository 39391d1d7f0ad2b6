"""Leaving and arriving: deactivate, erase, export, import."""
