"""The PostgreSQL sinks: consumers of the worker's output topics, run by `driftmon sinks`."""
