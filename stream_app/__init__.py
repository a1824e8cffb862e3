"""The faust stream processor: event-time buckets per model, drift evaluation, sinks."""
