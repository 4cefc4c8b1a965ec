"""wismo handlers."""
