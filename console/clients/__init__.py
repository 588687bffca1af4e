"""Clients of the console: Zeebe gRPC, Camunda REST v2 and the Medusa Admin API."""
