"""Playback: an open-source, self-hostable short-video platform."""

__version__ = "0.1.0"
