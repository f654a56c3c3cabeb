"""autan.cli."""
