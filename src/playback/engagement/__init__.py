"""Engagement: likes and counters, comments, saves, shares, watch events, notifications."""
