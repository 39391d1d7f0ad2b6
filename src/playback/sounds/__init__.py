"""The music catalog and its terms."""
