"""autan.indexer."""
