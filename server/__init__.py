"""autan.server."""
