"""wismo processors."""
