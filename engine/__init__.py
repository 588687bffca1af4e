"""Embedded Zeebe-compatible workflow engine: gRPC gateway, REST v2 subset, durable runtime."""
