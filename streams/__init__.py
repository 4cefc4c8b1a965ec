"""wismo.streams: the faust-streaming runtime (agents, timers, web) that drives the same pipeline stages
over Kafka with Redis-backed state. Not part of the file-replay engine; see the README's status note."""
