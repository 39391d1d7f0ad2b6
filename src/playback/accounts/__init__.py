"""Accounts: signup, sessions, profiles, settings and the age policy."""
