"""The scriptable CLI verbs (orders, start, retry, cancel) and ``doctor``."""
