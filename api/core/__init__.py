"""Infrastructure of the API: settings, database pools, Kafka producer, metrics, errors."""
