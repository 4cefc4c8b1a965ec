"""wismo wismo."""
