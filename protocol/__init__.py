"""The status-callback contract shared by its sender (workers) and its receiver (the shop)."""
