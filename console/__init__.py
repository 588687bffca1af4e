"""The operator's console: CLI, settings, clients, fulfillment service and the Textual app."""
