"""wismo streams."""
