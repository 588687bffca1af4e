"""The single-broker cluster topology the engine reports over gRPC and REST."""

from __future__ import annotations

from typing import Any

GATEWAY_VERSION = "8.6.6"
BROKER_HOST = "localhost"
BROKER_PORT = 26501
PARTITION_ID = 1


def rest_topology() -> dict[str, Any]:
    """The REST v2 ``GET /topology`` body."""
    return {
        "brokers": [
            {
                "nodeId": 0,
                "host": BROKER_HOST,
                "port": BROKER_PORT,
                "partitions": [
                    {"partitionId": PARTITION_ID, "role": "leader", "health": "healthy"}
                ],
                "version": GATEWAY_VERSION,
            }
        ],
        "clusterSize": 1,
        "partitionsCount": 1,
        "replicationFactor": 1,
        "gatewayVersion": GATEWAY_VERSION,
    }
