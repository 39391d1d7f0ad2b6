"""The web client: server-rendered pages, templates and static files."""
