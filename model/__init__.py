"""autan.model."""
