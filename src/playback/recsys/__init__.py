"""The For You recommender's offline side: reading interactions, the item-to-item model, metrics."""
