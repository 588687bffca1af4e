"""Fulfillment job workers: stage table, task handlers, callback client, Slack notifier."""
