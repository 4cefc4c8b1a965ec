"""wismo sinks."""
