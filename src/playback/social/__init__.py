"""Social graph: follows, follow requests, blocks."""
