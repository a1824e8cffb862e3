"""Producer SDK for ML applications, and the synthetic scenario generator.

    from producers import DriftClient

    with DriftClient("kafka:9092") as client:
        client.log("churn-v3", {"age": 41, "country": "DE"}, {"class": "stay", "score": 0.83}, 0.83)

``HttpDriftClient`` has the same ``log()`` for applications that cannot reach Kafka. The SDK
needs only confluent-kafka, orjson and numpy (httpx for the HTTP client).
"""

from producers.client import DriftClient
from producers.delivery import DeliveryFailure
from producers.errors import (
    BrokerUnavailable,
    DeliveryError,
    DriftError,
    FlushTimeout,
    IngestError,
    IngestUnavailable,
    InvalidInference,
    ModelQuotaExceeded,
    UnknownTopic,
)
from producers.ingest import HttpDriftClient

__all__ = [
    "BrokerUnavailable",
    "DeliveryError",
    "DeliveryFailure",
    "DriftClient",
    "DriftError",
    "FlushTimeout",
    "HttpDriftClient",
    "IngestError",
    "IngestUnavailable",
    "InvalidInference",
    "ModelQuotaExceeded",
    "UnknownTopic",
]
