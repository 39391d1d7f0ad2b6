"""Analytics: rollups, the creator studio, trends, platform insights and the growth forecast."""
