"""Safety: rate limits now; teen rules, screen time and moderation build on it."""
